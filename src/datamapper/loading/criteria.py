"""``with_loader_criteria()``: extra criteria for every load of an entity.

Callers: users, through a statement's ``options()`` (usually added by a
``do_orm_execute`` listener); the session, the query and the loaders, which
apply the criteria to the SELECTs they run.

A :class:`LoaderCriteriaOption` names an entity (a mapped class, or any class
whose mapped subclasses it covers: a mixin or an abstract base) and a criterion
(a SQL expression, or a callable given the mapped class that returns one).
:func:`apply_loader_criteria` rewrites a SELECT so that each place a covered
entity's table appears reads only the rows the criterion accepts: the WHERE
clause for a table the statement selects from, the ON clause for a table it
joins to (so an outer join keeps its parent rows).  Objects a statement loads
remember the options that propagate (``propagate_to_loaders``): their lazy
loads, and the selectin/joined eager loads of the statement, get the criteria
too (:func:`criteria_for_target` for the eager joins' anonymous aliases).
"""

from __future__ import annotations

import inspect as _inspect
import pickle
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from typing import Any

from sqlalchemy import and_
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import BooleanClauseList, ColumnElement
from sqlalchemy.sql.selectable import Alias, Join, Select, TableClause
from sqlalchemy.sql.util import ClauseAdapter

from .._core import (
    annotations_of,
    deannotate,
    from_objects,
    gen_cache_key,
    is_cacheable_element,
    mark_uncacheable,
    memoized_select_entities,
    statement_options,
    with_froms,
    with_statement_options,
)
from ..mapping.mapper import Mapper, _all_mappers, _mapper_or_none

Criterion = ColumnElement[Any]

# set while apply_loader_criteria() reads a statement's FROM list (Core compiles it for
# that, through the compile-state plugin, which must not apply the criteria again)
_APPLYING: ContextVar[bool] = ContextVar("dm_applying_loader_criteria", default=False)


def applying() -> bool:
    """Whether :func:`apply_loader_criteria` is reading a statement's FROM list."""
    return _APPLYING.get()


class LoaderCriteriaOption(ExecutableOption):
    """``with_loader_criteria(entity, criteria, ...)``: see :func:`with_loader_criteria`."""

    def __init__(self, entity: Any, where_criteria: Any, loader_only: bool = False,
                 include_aliases: bool = False, propagate_to_loaders: bool = True,
                 track_closure_variables: bool = True) -> None:
        mapper = _mapper_or_none(entity)
        # aliased(User): the rows of that alias only
        self.alias: Any = None
        if mapper is None and hasattr(entity, "_dm_mapper") and not isinstance(entity, type):
            mapper = entity._dm_mapper
            self.alias = entity._dm_selectable
        if mapper is not None:
            self.root: type = mapper.class_
        elif isinstance(entity, type):
            if not callable(where_criteria) or isinstance(where_criteria, ColumnElement):
                raise ArgumentError(
                    f"Can't use with_loader_criteria({entity.__name__}, ...) with a fixed "
                    f"expression: {entity.__name__} is not mapped, so pass a callable "
                    f"given each mapped subclass, e.g. lambda cls: cls.deleted == False"
                )
            self.root = entity
        else:
            raise ArgumentError(
                f"Can't use with_loader_criteria({entity!r}, ...): the first argument must "
                "be a mapped class or a base class / mixin of mapped classes"
            )
        self.entity = entity
        self.mapper = mapper
        self.include_aliases = include_aliases
        self.propagate_to_loaders = propagate_to_loaders
        self.loader_only = loader_only
        self.track_closure_variables = track_closure_variables
        self._fixed: Criterion | None = None
        self._fn: Callable[..., Any] | None = None
        if isinstance(where_criteria, ColumnElement) or hasattr(
                where_criteria, "__clause_element__"):
            self._fixed = _coerce(where_criteria, entity)
        elif callable(where_criteria):
            self._fn = where_criteria
        else:
            raise ArgumentError(
                f"Can't use with_loader_criteria(..., {where_criteria!r}): the criteria must "
                "be a SQL expression (User.deleted == False) or a callable taking the class"
            )
        self._by_class: dict[type, Criterion] = {}

    # part of a Core statement's cache key (in a sqlalchemy.select()'s options()): the
    # criteria themselves, or for a callable its code (its values reach the statement's
    # WHERE/ON, which are in the key with their bound parameters)
    _is_has_cache_key = True

    def _gen_cache_key(self, anon_map: Any, bindparams: list[Any]) -> Any:
        if self._fixed is not None and is_cacheable_element(self._fixed):
            crit: Any = gen_cache_key(self._fixed, anon_map, bindparams)
        elif self._fn is not None and hasattr(self._fn, "__code__"):
            crit = self._fn.__code__
        else:
            mark_uncacheable(anon_map)
            crit = id(self)
        alias = gen_cache_key(self.alias, anon_map, bindparams) \
            if self.alias is not None else None
        return ("dm_loader_criteria", self.root, alias, self.include_aliases,
                self.propagate_to_loaders, crit)

    def applies_to(self, mapper: Mapper) -> bool:
        return issubclass(mapper.class_, self.root)

    def criterion_for_alias(self, leaf: Any) -> Criterion | None:
        """For an option naming an ``aliased()`` entity: its criterion when ``leaf`` is
        that alias (else None)."""
        if not _same(leaf, self.alias):
            return None
        if self._fixed is not None:
            return self._fixed
        assert self._fn is not None
        return _coerce(self._fn(self.entity), self.entity)

    def criterion(self, mapper: Mapper) -> Criterion:
        """The criterion for ``mapper``'s rows, in terms of its class's columns."""
        if self._fixed is not None:
            return self._fixed
        cls = mapper.class_
        found = self._by_class.get(cls)
        if found is None:
            assert self._fn is not None
            fn = self._fn
            try:
                takes_class = bool(_inspect.signature(fn).parameters)
            except (TypeError, ValueError):
                takes_class = True
            found = self._by_class[cls] = _coerce(fn(cls) if takes_class else fn(), cls)
        return found

    def __repr__(self) -> str:
        return f"with_loader_criteria({self.root.__name__}, ...)"

    def __reduce__(self) -> tuple[Any, ...]:
        # An object loaded with this option keeps it for its later relationship loads
        # (propagate_to_loaders), so pickling the object pickles the option: as the
        # arguments it was made from (the class by reference, the callable or the
        # expression), not the mapper and the per-class criteria built from them
        if self._fixed is not None:
            try:
                pickle.dumps(self._fixed)
            except Exception as exc:
                raise pickle.PicklingError(
                    f"Can't pickle {self!r}: its criteria are a SQL expression of mapped "
                    f"attributes, which does not pickle ({exc}); to pickle objects loaded "
                    f"with it, give the criteria as a module-level function of the class "
                    f"(def criteria(cls): return cls.x == ...)") from exc
        return (LoaderCriteriaOption, (
            self.entity, self._fixed if self._fixed is not None else self._fn,
            self.loader_only, self.include_aliases, self.propagate_to_loaders,
            self.track_closure_variables))


def _coerce(value: Any, entity: Any) -> Criterion:
    if hasattr(value, "__clause_element__") and not isinstance(value, ColumnElement):
        value = value.__clause_element__()
    if not isinstance(value, ColumnElement):
        name = getattr(entity, "__name__", entity)
        raise ArgumentError(
            f"Can't use with_loader_criteria({name}, ...): the criteria gave {value!r}, not "
            "a SQL expression; return one such as cls.deleted == False"
        )
    return value


def with_loader_criteria(entity: Any, where_criteria: Any, loader_only: bool = False,
                         include_aliases: bool = False, propagate_to_loaders: bool = True,
                         track_closure_variables: bool = True) -> LoaderCriteriaOption:
    """Criteria added to every SELECT of ``entity`` (a mapped class, or a base class or
    mixin whose mapped subclasses it covers) that the statement it is an option of
    runs: WHERE for the entity's table, the ON clause of joins to it, and (with
    ``propagate_to_loaders``) the lazy and eager relationship loads of the objects the
    statement loads.  ``where_criteria`` is a SQL expression or a callable given the
    mapped class (``lambda cls: cls.deleted == False``).  ``include_aliases``: also
    ``aliased()`` forms of the entity."""
    return LoaderCriteriaOption(entity, where_criteria, loader_only, include_aliases,
                                propagate_to_loaders, track_closure_variables)


def criteria_options(options: Iterable[Any] | None) -> tuple[LoaderCriteriaOption, ...]:
    """The ``with_loader_criteria()`` options among ``options``."""
    if not options:
        return ()
    return tuple(o for o in options if isinstance(o, LoaderCriteriaOption))


def statement_criteria(stmt: Any) -> tuple[LoaderCriteriaOption, ...]:
    """The ``with_loader_criteria()`` options given to a Core statement's ``options()``
    (also before a ``with_only_columns()``, which keeps them with the entities it
    replaced)."""
    found = list(criteria_options(statement_options(stmt)))
    for earlier in memoized_select_entities(stmt):
        found.extend(o for o in criteria_options(statement_options(earlier))
                     if o not in found)
    return tuple(found)


# -- applying them ------------------------------------------------------------------
def _owners(table: Any) -> list[Mapper]:
    """The mappers whose own table ``table`` is (not inherited from a superclass)."""
    return [m for m in list(_all_mappers) if m.local_table is table
            and (m.inherits is None or m.inherits.local_table is not table)]


def _leaf_mappers(table: Any, hints: Sequence[Mapper]) -> list[Mapper]:
    """The mappers whose rows ``table`` holds in this statement: the selected entities
    that read it (a single-table subclass reads its base's table), else its owners."""
    found = [m for m in hints if table in m.tables]
    return found or _owners(table)


def _same(a: Any, b: Any) -> bool:
    return a is b or deannotate(a) is deannotate(b)


def _criteria_for_leaf(leaf: Any, options: Sequence[LoaderCriteriaOption],
                       hints: Sequence[Mapper], internal_alias: bool = False
                       ) -> list[Criterion]:
    is_alias = isinstance(leaf, Alias)
    table = leaf.element if is_alias else leaf
    if not isinstance(table, TableClause):
        return []  # a subquery, a function ...: nothing mapped to filter
    table = deannotate(table)
    mappers = _leaf_mappers(table, hints)
    out: list[Criterion] = []
    for opt in options:
        if opt.alias is not None:
            found = opt.criterion_for_alias(leaf) if is_alias else None
            if found is not None and not any(found.compare(c) for c in out):
                out.append(found)
            continue
        if is_alias and not (opt.include_aliases or internal_alias):
            continue
        for m in mappers:
            if not opt.applies_to(m):
                continue
            crit = opt.criterion(m)
            if is_alias:
                crit = ClauseAdapter(leaf).traverse(crit)
            # only a criterion on this table's own columns (a joined subclass's table
            # leaves its base's criterion to the base table)
            if all(_same(f, leaf) for f in from_objects(crit)) and \
                    not any(crit.compare(c) for c in out):
                out.append(_others_inside(crit, opt, options, leaf))
            break
    return out


def _others_inside(crit: Criterion, opt: LoaderCriteriaOption,
                   options: Sequence[LoaderCriteriaOption], leaf: Any) -> Criterion:
    """``crit`` (``opt``'s criterion) with the other options' criteria in the SELECTs
    nested in it: ``with_loader_criteria(User, User.addresses.any())`` beside one for
    Address reads only the addresses that option accepts.  ``opt`` itself is left out
    there (and at any depth below), or a criterion selecting its own entity would
    nest without end; so is ``leaf``, the table the criterion limits, which its
    subqueries correlate to (not a FROM of theirs)."""
    rest = [o for o in options if o is not opt]
    if not rest:
        return crit
    return _apply_nested(crit, rest, leaf)  # type: ignore[no-any-return]  # a criterion in, the same criterion with its subqueries rewritten out


def criteria_for_target(options: Sequence[LoaderCriteriaOption], mapper: Mapper,
                        selectable: Any) -> list[Criterion]:
    """The criteria for ``mapper``'s rows read from ``selectable`` (its table, or an
    anonymous alias an eager join or selectin load uses), for an ON or WHERE clause."""
    if not options:
        return []
    out: list[Criterion] = []
    for leaf in _leaves(selectable):
        for c in _criteria_for_leaf(leaf, options, [mapper], internal_alias=True):
            if not any(c.compare(o) for o in out):
                out.append(c)
    return out


def _leaves(fc: Any) -> list[Any]:
    if isinstance(fc, Join):
        return _leaves(fc.left) + _leaves(fc.right)
    return [fc]


def _has(onclause: Any, crit: Criterion) -> bool:
    if onclause is None:
        return False
    parts = onclause.clauses if isinstance(onclause, BooleanClauseList) else (onclause,)
    return any(crit.compare(p) for p in parts)


def _walk(fc: Any, options: Sequence[LoaderCriteriaOption], hints: Sequence[Mapper]
          ) -> tuple[Any, list[Criterion]]:
    """``fc`` with criteria added to the ON clause of each join's right side, and the
    criteria of its leftmost table (for the enclosing ON or WHERE clause)."""
    if not isinstance(fc, Join):
        return fc, _criteria_for_leaf(fc, options, hints)
    left, lcrit = _walk(fc.left, options, hints)
    right, rcrit = _walk(fc.right, options, hints)
    rcrit = [c for c in rcrit if not _has(fc.onclause, c)]
    if left is fc.left and right is fc.right and not rcrit:
        return fc, lcrit
    on = and_(fc.onclause, *rcrit) if rcrit and fc.onclause is not None else \
        (and_(*rcrit) if rcrit else fc.onclause)
    return left.join(right, on, isouter=fc.isouter, full=fc.full), lcrit


def selects_mapped_columns(stmt: Any) -> bool:
    """Whether a SELECT's columns name a mapped attribute anywhere in them
    (``User.id``, ``func.count(User.id)``), not only Core tables' columns."""
    for col in stmt.selected_columns:
        for element in visitors.iterate(col):
            ann = annotations_of(element)
            if "dm_attr" in ann or "dm_entity" in ann:
                return True
    return False


def apply_loader_criteria(stmt: Any, options: Sequence[LoaderCriteriaOption],
                          hints: Sequence[Mapper] = (), correlated: Any = None) -> Any:
    """``stmt`` (a SELECT) reading only the rows ``options`` accept: their criteria in
    the WHERE clause for the tables it selects from and in the ON clause of its joins;
    ``hints``: the mappers of the entities it selects; ``correlated``: a table of an
    enclosing statement this one (a subquery) correlates to, left alone."""
    if not options:
        return stmt
    own = statement_options(stmt)
    if any(isinstance(o, LoaderCriteriaOption) for o in own):
        # applied once: a statement compiled again (or run after its str()) keeps them
        stmt = with_statement_options(
            stmt, tuple(o for o in own if not isinstance(o, LoaderCriteriaOption)))
    # the SELECTs nested in the statement first (not those the criteria bring: a
    # criterion may itself select the entity it limits)
    stmt = _apply_nested(stmt, options, correlated)
    token = _APPLYING.set(True)
    try:
        froms = list(stmt.get_final_froms())
    finally:
        _APPLYING.reset(token)
    new_froms: list[Any] = []
    where: list[Criterion] = []
    # options given before with_only_columns() live in the memoized entities: the FROM
    # list made explicit drops them
    changed = any(criteria_options(statement_options(m))
                  for m in memoized_select_entities(stmt))
    for fc in froms:
        if correlated is not None and _same(fc, correlated):
            new_froms.append(fc)
            continue
        new, crit = _walk(fc, options, hints)
        changed = changed or new is not fc
        new_froms.append(new)
        where.extend(c for c in crit if not any(c.compare(w) for w in where))
    if changed:
        stmt = with_froms(stmt, new_froms)
    if where:
        stmt = stmt.where(*where)
    return stmt


def _apply_nested(stmt: Any, options: Sequence[LoaderCriteriaOption],
                  correlated: Any = None) -> Any:
    """``stmt`` with the criteria also in the SELECTs nested in it: EXISTS, scalar
    and IN subqueries, subqueries and CTEs in its FROM list."""
    if not any(isinstance(e, Select) and e is not stmt for e in visitors.iterate(stmt)):
        return stmt

    def nested(element: Any, **kw: Any) -> Any:
        if element is not stmt and isinstance(element, Select):
            return apply_loader_criteria(element, options, (), correlated)
        return None

    return visitors.replacement_traverse(stmt, {}, nested)


def apply_criteria_within(stmt: Any, options: Sequence[LoaderCriteriaOption],
                          hints: Sequence[Mapper] = ()) -> Any:
    """``stmt`` with ``options``' criteria in the SELECTs it runs: a SELECT itself
    (``hints``: the mappers of the entities it loads), each SELECT of a UNION (also
    one nested in another), the SELECT of an INSERT ... FROM SELECT; a textual
    statement is left as written."""
    if not options:
        return stmt
    if isinstance(stmt, Select):
        return apply_loader_criteria(stmt, options, hints)
    return _apply_nested(stmt, options)
