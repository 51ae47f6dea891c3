"""Loader options: ``joinedload``, ``selectinload``, ``subqueryload``, ``lazyload``,
``noload``, ``raiseload``, ``contains_eager``, ``defer``, ``undefer``, ``load_only``.

Callers: users, through ``Query.options()``, ``select(...).options()`` and
``Session.get(..., options=[...])``.  An option is a path of steps, each a
relationship (or column) attribute, or its name as a string, with a strategy;
chaining (``joinedload(User.orders).selectinload(Order.items)``) extends the
path.  This module only builds options: ``option_plans.py`` resolves the
options of one statement against its entities into the loading layer's
``EntityPlan`` objects, and ``plan_execution.py`` builds and runs the SELECT
of those plans.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ColumnElement

from .._core import gen_cache_key, is_cacheable_element, mark_uncacheable
from ..loading.criteria import LoaderCriteriaOption
from ..mapping.attributes import QueryableAttribute
from ..mapping.mapper import configure_mappers

COLUMN_STRATEGIES = ("defer", "undefer", "load_only", "undefer_group", "with_expression")
STRATEGY_NAMES = {"joined": "joinedload", "selectin": "selectinload", "subquery": "subqueryload",
          "immediate": "immediateload", "select": "lazyload", "noload": "noload", "raise": "raiseload",
          "raise_on_sql": "raiseload",
          "contains_eager": "contains_eager", "default": "defaultload", "defer": "defer",
          "undefer": "undefer", "load_only": "load_only", "undefer_group": "undefer_group",
          "with_expression": "with_expression", "selectin_polymorphic": "selectin_polymorphic"}


class Load(ExecutableOption):
    """A loader option: a path of (attribute or name, strategy, keywords) steps, and
    the options given to :meth:`options` for what the path's last step loads.

    A Core statement's ``options()`` accepts it too (``sqlalchemy.select(User)``).
    """

    def __init__(self, entity: Any = None,
                 steps: tuple[tuple[Any, str, dict[str, Any]], ...] = (),
                 branches: tuple[Load, ...] = ()) -> None:
        if isinstance(entity, tuple):  # Load(steps[, branches]): the internal form
            entity, steps, branches = None, entity, steps or branches  # type: ignore[assignment]  # the internal form passes the steps first
        # Load(User): options rooted at that entity of the statement (a class or alias)
        self.root = entity
        self.steps = steps
        self.branches = branches
        # given before Query.with_entities() replaced the entities it was written for:
        # applied where a selected entity still takes it, else left out (not refused)
        self.lenient = False

    # Core keys its compiled-statement cache on a statement's options: a select() of
    # mapped classes compiles to SQL that depends on its loader options (the columns
    # load_only()/defer() choose, joinedload()'s joins), so an option is part of the
    # key, naming its steps (attributes by class and name, aliases and expressions by
    # their own keys); a step with a value that has no key makes the statement one
    # Core does not cache.
    _is_has_cache_key = True

    def _gen_cache_key(self, anon_map: object, bindparams: list[Any]) -> object:
        return (
            "dm_load",
            _option_key(self.root, anon_map, bindparams),
            tuple((_option_key(target, anon_map, bindparams), strategy,
                   tuple((k, _option_key(v, anon_map, bindparams))
                         for k, v in sorted(kw.items())))
                  for target, strategy, kw in self.steps),
            tuple(b._gen_cache_key(anon_map, bindparams) for b in self.branches),
        ) + (("lenient",) if self.lenient else ())

    def as_lenient(self) -> Load:
        """This option, applied only where a selected entity takes it (see ``lenient``)."""
        out = Load(self.root, steps=self.steps, branches=self.branches)
        out.lenient = True
        return out

    def options(self, *opts: Load) -> Load:
        """Options for the objects this path loads, relative to them:
        ``selectinload(User.orders).options(joinedload(Order.items), defer(Order.note))``."""
        if not self.steps:
            raise ArgumentError("Can't add options() to an empty Load(); start it with a "
                                "loader such as selectinload(User.orders)")
        for o in opts:
            if not isinstance(o, Load):
                raise ArgumentError(
                    f"Can't use {o!r} in Load.options(): it takes loader options such as "
                    "joinedload(Order.items) or defer(Order.note)"
                )
        return Load(self.root, steps=self.steps, branches=self.branches + tuple(opts))

    def paths(self) -> list[Load]:
        """This option as plain paths: its own and one per (nested) options() branch."""
        out = [Load(self.root, steps=self.steps)]
        for b in self.branches:
            out.extend(Load(self.root, steps=self.steps + p.steps) for p in b.paths())
        for o in out:
            o.lenient = self.lenient
        return out

    def _add(self, targets: tuple[Any, ...], strategy: str, **kw: object) -> Load:
        # a column option does not move the path: options chained after it continue from
        # the same entity (load_only(User.name).defaultload(User.addresses))
        if self.branches:
            raise ArgumentError(
                f"Can't chain {STRATEGY_NAMES[strategy]}() after options(): pass it inside "
                "options(...) or as a separate option"
            )
        for t in targets:
            if isinstance(t, QueryableAttribute) and not t.parent.configured:
                # as SQLAlchemy does: an option naming a mapped attribute configures the
                # mappers, so that a backref it chains to next (joinedload(User.addresses)
                # .joinedload(Address.user)) exists when the program names it
                configure_mappers()
                break
        steps = list(self.steps)
        if strategy in COLUMN_STRATEGIES:
            if strategy == "load_only":
                steps.append((tuple(targets), strategy, kw))
                return Load(self.root, steps=tuple(steps))
            for t in targets:
                *rels, last = _split((t,), strategy)
                steps.extend((r, "default", {}) for r in rels)
                steps.append((last, strategy, kw))
            return Load(self.root, steps=tuple(steps))
        path = _split(targets, strategy)
        _refuse_after_wildcard(self.steps, path, strategy)
        # joinedload(User.orders, Order.items) (or "orders.items") sets the strategy
        # of the last step only: the steps before it keep their own strategy, as
        # defaultload() would (chain joinedload(...).joinedload(...) to load each one
        # that way); contains_eager() names the joins the statement has, so each of
        # its steps is read from them
        lead = strategy if strategy == "contains_eager" else "default"
        for i, t in enumerate(path):
            if i == len(path) - 1:
                steps.append((t, strategy, kw))
            else:
                steps.append((t, lead, {}))
        return Load(self.root, steps=tuple(steps))

    def joinedload(self, *attrs: object, innerjoin: bool | str | None = None) -> Load:
        if innerjoin is None:
            return self._add(attrs, "joined")
        return self._add(attrs, "joined", innerjoin=bool(innerjoin))

    def selectinload(self, *attrs: object, recursion_depth: int | None = None,
                     chunksize: int | None = None) -> Load:
        return self._add(attrs, "selectin", **_depth(recursion_depth), **_chunks(chunksize))

    def subqueryload(self, *attrs: object) -> Load:
        return self._add(attrs, "subquery")

    def immediateload(self, *attrs: object, recursion_depth: int | None = None) -> Load:
        return self._add(attrs, "immediate", **_depth(recursion_depth))

    def lazyload(self, *attrs: object) -> Load:
        return self._add(attrs, "select")

    def noload(self, *attrs: object) -> Load:
        return self._add(attrs, "noload")

    def raiseload(self, *attrs: object, sql_only: bool = False) -> Load:
        return self._add(attrs, "raise_on_sql" if sql_only else "raise")

    def defaultload(self, *attrs: object) -> Load:
        return self._add(attrs, "default")

    def contains_eager(self, *attrs: object, alias: object = None) -> Load:
        return self._add(attrs, "contains_eager", alias=alias)

    def defer(self, *attrs: object, raiseload: bool = False) -> Load:
        return self._add(attrs, "defer", raiseload=raiseload)

    def undefer(self, *attrs: object) -> Load:
        return self._add(attrs, "undefer")

    def load_only(self, *attrs: object, raiseload: bool = False) -> Load:
        return self._add(attrs, "load_only", raiseload=raiseload)

    def selectin_polymorphic(self, classes: object) -> Load:
        """After the objects this path loads, load the columns of the subclasses
        ``classes`` for those of them that are such subclasses, one SELECT ... WHERE
        <key> IN (...) per subclass."""
        if self.branches:
            raise ArgumentError(
                "Can't chain selectin_polymorphic() after options(): pass it inside "
                "options(...) or as a separate option"
            )
        if isinstance(classes, (str, type)) or not hasattr(classes, "__iter__"):
            raise ArgumentError(
                f"Can't use selectin_polymorphic({classes!r}): pass a list of the subclasses "
                "whose columns to load, e.g. [Manager, Engineer]"
            )
        steps = (*self.steps, (tuple(classes), "selectin_polymorphic", {}))
        return Load(self.root, steps=steps)

    def undefer_group(self, name: str) -> Load:
        """Load every column of ``deferred(..., group=name)`` with the rest of the row."""
        if not isinstance(name, str):
            raise ArgumentError(
                f"Can't use undefer_group({name!r}): pass the group name given to "
                "deferred(..., group=...) as a string"
            )
        steps = list(self.steps)
        steps.append((name, "undefer_group", {}))
        return Load(self.root, steps=tuple(steps))

    def with_expression(self, key: object, expression: object) -> Load:
        """Load the ``query_expression()`` attribute ``key`` from ``expression`` in this
        query (a SQL expression of the entity's columns, e.g. ``A.x + A.y``)."""
        if hasattr(expression, "__clause_element__") and \
                not isinstance(expression, ColumnElement):
            expression = expression.__clause_element__()
        if not isinstance(expression, ColumnElement):
            raise ArgumentError(
                f"Can't use with_expression({describe_target(key)}, {expression!r}): the second "
                "argument is not a SQL expression; pass one such as A.x + A.y or literal(1)"
            )
        return self._add((key,), "with_expression", expression=expression)

    def __repr__(self) -> str:
        if self.root is not None and not self.steps:
            return f"Load({describe_target(self.root)})"
        own = ".".join(f"{STRATEGY_NAMES[s]}({describe_target(t)})" for t, s, _kw in self.steps)
        if self.branches:
            own += ".options(" + ", ".join(repr(b)[5:-1] for b in self.branches) + ")"
        return "Load(" + own + ")"


def _split(targets: tuple[Any, ...], strategy: str) -> list[object]:
    if not targets:
        raise ArgumentError(f"Can't use {STRATEGY_NAMES[strategy]}() without an attribute; pass one "
                            "such as User.addresses or 'addresses'")
    out: list[object] = []
    for t in targets:
        if isinstance(t, str) and strategy != "load_only":
            out.extend(t.split("."))
        else:
            out.append(t)
    return out


def describe_target(t: object) -> str:
    if isinstance(t, tuple):
        return ", ".join(describe_target(x) for x in t)
    return repr(t) if isinstance(t, str) else str(t)


def joinedload(*attrs: object, innerjoin: bool | str | None = None) -> Load:
    """Load the relationship in the same SELECT through a LEFT OUTER JOIN
    (``innerjoin=True``: an inner join, which leaves out the parents it finds no
    related row for; by default the relationship's own ``innerjoin``)."""
    return Load().joinedload(*attrs, innerjoin=innerjoin)


eagerload = joinedload  # the 0.4 name


def _refuse_after_wildcard(steps: tuple[Any, ...], path: list[Any], strategy: str) -> None:
    """A relationship wildcard ("*") stands for every relationship: it ends a path."""
    before = [t for t, s, _kw in steps if s not in COLUMN_STRATEGIES]
    names = before + path[:-1]
    if any(isinstance(t, str) and t == "*" for t in names):
        raise ArgumentError(
            f"Can't chain {STRATEGY_NAMES[strategy]}() after the wildcard '*': it stands "
            "for every relationship, so nothing can follow it in a path; give it as a "
            "separate option, or name the relationship instead of '*'")


def _chunks(chunksize: int | None) -> dict[str, object]:
    if chunksize is None:
        return {}
    if not isinstance(chunksize, int) or isinstance(chunksize, bool) or chunksize < 1:
        raise ArgumentError(
            f"Can't use chunksize={chunksize!r}: give the number of parent keys one "
            "SELECT may send (1 or more)")
    return {"chunksize": chunksize}


def _depth(recursion_depth: int | None) -> dict[str, object]:
    if recursion_depth is None:
        return {}
    if not isinstance(recursion_depth, int) or isinstance(recursion_depth, bool) or \
            recursion_depth < -1:
        raise ArgumentError(
            f"Can't use recursion_depth={recursion_depth!r}: give a number of levels "
            "(0 or more), or -1 to load until no object is left")
    return {"recursion_depth": recursion_depth}


def selectinload(*attrs: object, recursion_depth: int | None = None,
                 chunksize: int | None = None) -> Load:
    """Load the relationship for all parents in one more SELECT ... WHERE ... IN (...);
    ``recursion_depth``: a self-referential relationship of the loaded objects loads
    too, that many levels more (-1: every level); ``chunksize``: at most that many
    parent keys in one SELECT's IN list (500 by default)."""
    return Load().selectinload(*attrs, recursion_depth=recursion_depth, chunksize=chunksize)


def subqueryload(*attrs: object) -> Load:
    """Load the relationship in one more SELECT per level (shares selectinload's IN query)."""
    return Load().subqueryload(*attrs)


def immediateload(*attrs: object, recursion_depth: int | None = None) -> Load:
    """Load the relationship as soon as each parent is loaded, with its own SELECT
    (``recursion_depth``: as for :func:`selectinload`)."""
    return Load().immediateload(*attrs, recursion_depth=recursion_depth)


def lazyload(*attrs: object) -> Load:
    """Load the relationship on first access (overrides a configured eager strategy)."""
    return Load().lazyload(*attrs)


def noload(*attrs: object) -> Load:
    """Never load the relationship: it reads as empty (or None)."""
    return Load().noload(*attrs)


def raiseload(*attrs: object, sql_only: bool = False) -> Load:
    """Refuse to lazy load the relationship: accessing it raises InvalidRequestError
    (with ``sql_only=True`` only when the load would need SQL)."""
    return Load().raiseload(*attrs, sql_only=sql_only)


def defaultload(*attrs: object) -> Load:
    """A path step keeping the relationship's own strategy (to chain options below it)."""
    return Load().defaultload(*attrs)


def contains_eager(*attrs: object, alias: object = None) -> Load:
    """Fill the relationship from the columns of a join the statement already has."""
    return Load().contains_eager(*attrs, alias=alias)


def defer(*attrs: object, raiseload: bool = False) -> Load:
    """Leave a column attribute out of the SELECT; it loads on first access (with
    ``raiseload=True`` reading it raises instead, until it is expired)."""
    return Load().defer(*attrs, raiseload=raiseload)


def undefer(*attrs: object) -> Load:
    """Load a column configured as deferred() with the rest of the row."""
    return Load().undefer(*attrs)


def load_only(*attrs: object, raiseload: bool = False) -> Load:
    """SELECT only these column attributes (and the primary key); others load on access
    (with ``raiseload=True`` reading them raises instead)."""
    return Load().load_only(*attrs, raiseload=raiseload)


def selectin_polymorphic(base: object, classes: object) -> Load:
    """Load the columns of the subclasses ``classes`` of the entity ``base`` for the
    objects a query of ``base`` returns that are of those classes (one more SELECT per
    subclass, by primary key).  Inside ``options()`` of a relationship path it applies
    to the objects the relationship loads."""
    return Load(base).selectin_polymorphic(classes)


def undefer_group(name: str) -> Load:
    """Load the deferred columns of group ``name`` with the rest of the row."""
    return Load().undefer_group(name)


def with_expression(key: object, expression: object) -> Load:
    """Load the ``query_expression()`` attribute ``key`` from the SQL ``expression``
    in this query: ``options(with_expression(A.total, A.x + A.y))``."""
    return Load().with_expression(key, expression)


def _option_key(value: object, anon_map: object, bindparams: list[Any]) -> object:
    """A loader option's step target or argument, as part of a cache key."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, tuple):
        return tuple(_option_key(v, anon_map, bindparams) for v in value)
    if isinstance(value, type):
        return value  # a mapped class
    if isinstance(value, QueryableAttribute):
        qa: QueryableAttribute = value
        if getattr(qa.class_, qa.key, None) is value:
            return ("dm_attr", qa.class_, qa.key)
    if is_cacheable_element(value):
        return gen_cache_key(value, anon_map, bindparams)  # of_type(), a SQL expression
    if hasattr(value, "__clause_element__"):  # aliased(), an alias's attribute
        element = value.__clause_element__()
        if is_cacheable_element(element):
            return (type(value).__name__, gen_cache_key(element, anon_map, bindparams))
    mark_uncacheable(anon_map)
    return ("dm_uncacheable", id(value))


class UserDefinedOption(ExecutableOption):
    """An option that carries an application's own ``payload`` on a statement.

    The ORM does nothing with it; ``do_orm_execute`` listeners find it in
    :attr:`ORMExecuteState.user_defined_options`.  ``propagate_to_loaders``
    says whether it also applies to the loads of relationships the statement
    triggers.
    """

    propagate_to_loaders = False

    def __init__(self, payload: Any = None) -> None:
        self.payload = payload

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.payload!r})"


def propagating_options(options: Any) -> tuple[object, ...]:
    """The user-defined and ``with_loader_criteria()`` options among ``options`` that
    relationship loads carry on."""
    if not options:
        return ()
    return tuple(o for o in options
                 if isinstance(o, (UserDefinedOption, LoaderCriteriaOption))
                 and o.propagate_to_loaders)
