"""The criteria of a bulk UPDATE/DELETE tested in Python against the session's
objects (``synchronize_session="evaluate"``).

Callers: :func:`.bulk.criteria_tests` compiles a statement's WHERE clauses once
with :func:`compile_criteria`; :func:`.bulk.matching_states` asks
:func:`test_state` of each object of the identity map.

The answer for an object is what the database's WHERE will decide for its row,
or "unknown":

- SQL's three-valued logic is followed: a comparison with NULL is NULL (neither
  true nor false), ``NOT NULL`` is NULL, ``NULL OR TRUE`` is TRUE; a row whose
  WHERE is NULL is not changed;
- an object is tested on the values its row holds: an attribute changed and not
  yet flushed is read from its committed value, an attribute that is not loaded
  (expired, deferred) makes the answer unknown;
- a comparison whose result in the database may differ from Python's is unknown:
  values of different kinds (a number and a string: SQLite and MySQL convert
  one), strings where the database's collation decides (ordering everywhere but
  SQLite, equality on MySQL/MariaDB and SQL Server, which ignore case and
  trailing spaces by default), values of types Python can't order against each
  other.

The caller brings objects whose answer is unknown in line by expiring what the
statement may have changed, so that no object keeps a value its row no longer
holds.  Criteria that can't be compiled at all (functions, subqueries, other
tables) raise :class:`CannotEvaluate` before anything is sent.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import operator
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    BooleanClauseList,
    ColumnElement,
    False_,
    Grouping,
    Null,
    True_,
    UnaryExpression,
)
from sqlalchemy.types import Boolean

from .._util import NO_VALUE


class CannotEvaluate(Exception):
    """The criteria use something the Python evaluation does not know."""


class Unknown(Exception):
    """This object's answer can't be told in Python (see the module doc)."""


# value -> True / False / None (SQL NULL); may raise Unknown
Test = Callable[[dict[str, Any]], Any]

_ORDER = {operators.lt: operator.lt, operators.le: operator.le,
          operators.gt: operator.gt, operators.ge: operator.ge}
_EQ = {operators.eq: False, operators.ne: True}
_NUMBERS = (int, float, decimal.Decimal)  # (bool is an int)
_PLAIN = (str, bytes, datetime.date, datetime.time, datetime.timedelta, uuid.UUID, enum.Enum)


class Rules:
    """How far Python comparisons of strings agree with one database's."""

    __slots__ = ("str_equality", "str_order")

    def __init__(self, dialect_name: str | None) -> None:
        # case- and trailing-space-insensitive collations by default there (an
        # unknown database is trusted with neither)
        self.str_equality = dialect_name is not None and dialect_name not in (
            "mysql", "mariadb", "mssql")
        # code point order: SQLite's BINARY collation; others sort by locale
        self.str_order = dialect_name == "sqlite"


def _kind(v: object) -> object:
    if isinstance(v, _NUMBERS):
        return int
    if isinstance(v, enum.Enum):
        return type(v)
    if isinstance(v, _PLAIN):
        return datetime.datetime if isinstance(v, datetime.datetime) else type(v)
    raise Unknown()  # a JSON document, an array, a user type: the database decides


def _same_kind(a: object, b: object) -> None:
    if _kind(a) is not _kind(b):
        raise Unknown()


def compile_criteria(where: list[Any], col_to_key: dict[Any, str], rules: Rules,
                     params: dict[str, Any] | None = None) -> tuple[frozenset[str], Test]:
    """(attribute names read, test) for the AND of ``where``; raises CannotEvaluate."""
    keys: set[str] = set()
    comp = _Compiler(col_to_key, rules, params or {}, keys)
    tests = [comp.clause(w) for w in where]
    return frozenset(keys), _and(tests)


def test_state(state: Any, keys: frozenset[str], test: Test) -> Any:
    """True, False or None (NULL) for ``state``'s row; raises Unknown."""
    obj = state.obj()
    if obj is None:
        raise Unknown()
    d = obj.__dict__
    committed = state._committed
    values: dict[str, Any] = {}
    for k in keys:
        if committed and k in committed:  # an unflushed change: the row holds the old value
            v = committed[k]
            if v is NO_VALUE:
                raise Unknown()
        elif k in d:
            v = d[k]
        else:
            raise Unknown()  # not loaded
        values[k] = v
    return test(values)


def _and(tests: list[Test]) -> Test:
    if len(tests) == 1:
        return tests[0]

    def both(v: dict[str, Any]) -> Any:
        out: Any = True
        for t in tests:
            r = t(v)
            if r is False:
                return False
            if r is None:
                out = None
        return out

    return both


def _or(tests: list[Test]) -> Test:
    def either(v: dict[str, Any]) -> Any:
        out: Any = False
        for t in tests:
            r = t(v)
            if r is True:
                return True
            if r is None:
                out = None
        return out

    return either


def _not(test: Test) -> Test:
    def negated(v: dict[str, Any]) -> Any:
        r = test(v)
        return None if r is None else not r

    return negated


class _Compiler:
    def __init__(self, col_to_key: dict[Any, str], rules: Rules, params: dict[str, Any],
                 keys: set[str]) -> None:
        self.col_to_key = col_to_key
        self.rules = rules
        self.params = params
        self.keys = keys

    def clause(self, expr: object) -> Test:
        while isinstance(expr, Grouping):
            expr = expr.element
        if not isinstance(expr, ColumnElement) and hasattr(expr, "__clause_element__"):
            expr = expr.__clause_element__()
        if isinstance(expr, BooleanClauseList):
            subs = [self.clause(c) for c in expr.clauses]
            if expr.operator is operators.and_:
                return _and(subs)
            if expr.operator is operators.or_:
                return _or(subs)
            raise CannotEvaluate()
        if isinstance(expr, UnaryExpression):
            if expr.operator is operators.inv and expr.modifier is None:
                return _not(self.clause(expr.element))
            if expr.operator is operators.is_false:  # ~boolean_column
                return _not(self.clause(expr.element))
            if expr.operator is operators.is_true:
                return self.clause(expr.element)
            raise CannotEvaluate()
        if isinstance(expr, True_):
            return lambda v: True
        if isinstance(expr, False_):
            return lambda v: False
        if isinstance(expr, BinaryExpression):
            return self.binary(expr)
        if isinstance(expr, ColumnElement) and isinstance(expr.type, Boolean):
            get = self.operand(expr)  # a Boolean column on its own

            def truth(v: dict[str, Any]) -> Any:
                x = get(v)
                if x is None:
                    return None
                if not isinstance(x, (bool, int)):
                    raise Unknown()
                return bool(x)

            return truth
        raise CannotEvaluate()

    def operand(self, expr: object) -> Callable[[dict[str, Any]], Any]:
        while isinstance(expr, Grouping):
            expr = expr.element
        if isinstance(expr, BindParameter):
            value = self.bound(expr)
            return lambda v: value
        if isinstance(expr, Null):
            return lambda v: None
        if isinstance(expr, True_):
            return lambda v: True
        if isinstance(expr, False_):
            return lambda v: False
        key = self.col_to_key.get(expr)
        if key is None:
            raise CannotEvaluate()
        self.keys.add(key)
        return operator.itemgetter(key)

    def bound(self, bp: BindParameter[Any]) -> Any:
        if bp.key in self.params:
            return self.params[bp.key]
        if bp.callable is None and bp.required:
            raise CannotEvaluate()  # given only when the statement runs
        return bp.effective_value

    def binary(self, expr: BinaryExpression[Any]) -> Test:
        op = expr.operator
        if op in (operators.in_op, operators.not_in_op):
            return self.membership(expr, negate=op is operators.not_in_op)
        left = self.operand(expr.left)
        right = self.operand(expr.right)
        if op in (operators.is_, operators.is_not_distinct_from):
            return lambda v: self.equal(left(v), right(v), null_safe=True)
        if op in (operators.is_not, operators.is_distinct_from):
            return _not(lambda v: self.equal(left(v), right(v), null_safe=True))
        if op in _EQ:
            test: Test = lambda v: self.equal(left(v), right(v), null_safe=False)  # noqa: E731
            return _not(test) if _EQ[op] else test
        fn = _ORDER.get(op)
        if fn is None:
            raise CannotEvaluate()
        rules = self.rules

        def order(v: dict[str, Any]) -> Any:
            a, b = left(v), right(v)
            if a is None or b is None:
                return None
            _same_kind(a, b)
            if isinstance(a, str) and not rules.str_order:
                raise Unknown()
            try:
                return bool(fn(a, b))
            except TypeError:  # e.g. naive and aware datetimes
                raise Unknown() from None

        return order

    def equal(self, a: object, b: object, null_safe: bool) -> Any:
        if a is None or b is None:
            if null_safe:
                return a is None and b is None
            return None
        _same_kind(a, b)
        try:
            same = bool(a == b)
        except TypeError:
            raise Unknown() from None
        if not same and isinstance(a, str) and not self.rules.str_equality:
            raise Unknown()  # the collation may call them equal
        return same

    def membership(self, expr: BinaryExpression[Any], negate: bool) -> Test:
        right: Any = expr.right
        while isinstance(right, Grouping):
            right = right.element
        if not isinstance(right, BindParameter):
            raise CannotEvaluate()  # a subquery, a tuple, a list of expressions
        values = self.bound(right)
        if values is None:
            raise CannotEvaluate()
        values = list(values)
        left = self.operand(expr.left)
        has_null = any(x is None for x in values)
        candidates = [x for x in values if x is not None]

        def member(v: dict[str, Any]) -> Any:
            a = left(v)
            if a is None:
                return None if values else False
            unknown = False
            for x in candidates:
                try:
                    if self.equal(a, x, null_safe=False):
                        return True
                except Unknown:
                    unknown = True
            if unknown:
                raise Unknown()
            return None if has_null else False

        return _not(member) if negate else member
