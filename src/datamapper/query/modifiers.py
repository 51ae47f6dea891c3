"""``Query`` settings that are not criteria: OFFSET/LIMIT and slicing, DISTINCT,
locking, loader options, parameters and execution options, prefixes/suffixes/hints,
the entities selected, ``from_statement()`` and the session it runs in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql import base as sql_base
from sqlalchemy.sql.selectable import FromClause

from .._core import (
    roles,
)
from .._util import describe
from ..instance.seam import SessionLike
from ..loading.criteria import LoaderCriteriaOption
from .aliased import AliasedClass
from .arguments import (
    int_or_refuse,
    offset_plus,
    refuse_option,
    sql_or_refuse,
    text_or_refuse,
)
from .entities import (
    RowLayout,
    mapper_of,
)
from .filtering import QueryFiltering
from .from_statement import check_statement
from .options import (
    Load,
    UserDefinedOption,
)

_T = TypeVar("_T")


# Core's base class of syntax extensions (SQLAlchemy 2.1; None before)
_SYNTAX_EXTENSION: Any = getattr(sql_base, "SyntaxExtension", None)


class QueryModifiers(QueryFiltering[_T]):
    """LIMIT/OFFSET, DISTINCT, locking, options, hints and the entities of a Query."""

    def limit(self, limit: Any) -> Self:
        self._refuse_after_statement("limit")
        int_or_refuse(limit, "limit")
        q = self._clone()
        q._limit = limit
        return q

    def offset(self, offset: Any) -> Self:
        self._refuse_after_statement("offset")
        int_or_refuse(offset, "offset")
        q = self._clone()
        q._offset = offset
        return q

    def slice(self, start: Any, stop: Any) -> Self:
        """OFFSET/LIMIT for rows ``start`` to ``stop``, counted from the current offset.
        Either bound may be a SQL expression (``cast(bindparam("a"), Integer)``): the
        arithmetic is then written in SQL instead of done here."""
        int_or_refuse(start, "slice")
        int_or_refuse(stop, "slice")
        q = self._clone()
        offset = offset_plus(self._offset, start)
        q._offset = None if isinstance(offset, int) and offset == 0 else offset
        if stop is not None:
            if start is None:
                q._limit = stop
            elif isinstance(start, int) and isinstance(stop, int):
                q._limit = max(stop - start, 0)
            else:
                q._limit = stop - start
        return q

    def distinct(self, *expr: object) -> Self:
        self._refuse_after_statement("distinct")
        for e in expr:
            sql_or_refuse(e, roles.ByOfRole, "select distinct on",
                           "a mapped attribute, e.g. User.name")
        q = self._clone()
        q._distinct = True
        if expr:
            q._distinct_on = q._distinct_on + expr
        return q

    def ext(self, extension: object) -> Self:
        """Apply a Core syntax extension (``sqlalchemy.dialects.postgresql.distinct_on``
        ...) to the SELECT this query builds."""
        self._refuse_after_statement("ext")
        if _SYNTAX_EXTENSION is None or not isinstance(extension, _SYNTAX_EXTENSION):
            raise ArgumentError(
                f"Can't apply {describe(extension)} with Query.ext(): it is not a SQL syntax "
                "extension; pass one such as sqlalchemy.dialects.postgresql.distinct_on("
                "User.name) (SQLAlchemy 2.1)"
            )
        q = self._clone()
        q._extensions = q._extensions + (extension,)
        return q

    def with_for_update(self, read: bool = False, nowait: bool = False, of: object = None,
                        skip_locked: bool = False, key_share: bool = False) -> Self:
        if of is not None:
            for target in (of if isinstance(of, (list, tuple)) else [of]):
                if mapper_of(target) is None:
                    sql_or_refuse(target, roles.ColumnsClauseRole, "lock",
                                   "a mapped class, a mapped attribute or a Table")
        q = self._clone()
        q._for_update = {"read": read, "nowait": nowait, "of": of, "skip_locked": skip_locked,
                         "key_share": key_share}
        return q

    def populate_existing(self) -> Self:
        q = self._clone()
        q._populate_existing = True
        return q

    def autoflush(self, setting: bool) -> Self:
        q = self._clone()
        q._autoflush = setting
        return q

    def yield_per(self, count: int) -> Self:
        q = self._clone()
        q._yield_per = count
        return q

    def options(self, *opts: object) -> Self:
        q = self._clone()
        # a list or tuple of options (1.x code writes options([opt1, opt2])) is spread
        flat = [x for o in opts for x in (o if isinstance(o, (list, tuple)) else (o,))]
        for o in flat:
            if not isinstance(o, (Load, UserDefinedOption, LoaderCriteriaOption)) and \
                    not hasattr(o, "apply_to_query"):
                refuse_option(o)
            if hasattr(o, "apply_to_query"):
                q = o.apply_to_query(q)
            q._options = q._options + [o]
        return q

    def params(self, *args: Any, **kw: Any) -> Self:
        if len(args) > 1 or (args and not isinstance(args[0], Mapping)):
            raise ArgumentError(
                f"Can't set parameters from {', '.join(map(describe, args))}: params() takes "
                "one dictionary and/or keyword arguments, e.g. params({'name': 'ed'})"
            )
        return self._clone(_params={**self._params, **(args[0] if args else {}), **kw})

    def execution_options(self, **kw: object) -> Self:
        return self._clone(_execution_options={**self._execution_options, **kw})

    def enable_assertions(self, value: bool) -> Self:
        """``False``: allow generations the query would otherwise refuse (criteria after
        limit(), select_from() after criteria ...), at the caller's risk."""
        q = self._clone()
        q._enable_assertions = bool(value)
        return q

    def enable_eagerloads(self, value: bool) -> Self:
        """``False``: load no relationship eagerly (configured joined/selectin loading and
        such loader options are ignored; column options still apply)."""
        q = self._clone()
        q._eagerloads = bool(value)
        return q

    def with_transformation(self, fn: object) -> Any:
        """``fn(query)``: apply a function that builds on this query."""
        if not callable(fn):
            raise ArgumentError(
                f"Can't transform the query with {describe(fn)}: it is not callable; pass a "
                "function taking and returning a Query"
            )
        return fn(self)

    def prefix_with(self, *prefixes: object, dialect: str = "*") -> Self:
        """Text (or SQL) placed after SELECT: ``prefix_with("DISTINCT ON ...")``."""
        return self._clone(_prefixes=self._prefixes + [
            (text_or_refuse(p, "prefix"), dialect) for p in prefixes])

    def suffix_with(self, *suffixes: object, dialect: str = "*") -> Self:
        """Text (or SQL) placed after the whole statement."""
        return self._clone(_suffixes=self._suffixes + [
            (text_or_refuse(p, "suffix"), dialect) for p in suffixes])

    def with_hint(self, selectable: object, text: str, dialect_name: str = "*") -> Self:
        """An optimizer hint for ``selectable`` (a mapped class, alias or table)."""
        if not isinstance(text, str):
            raise ArgumentError(f"Can't use {describe(text)} as a hint: pass the hint text")
        target = selectable
        if isinstance(target, AliasedClass):
            target = target._dm_selectable
        elif (target_mapper := mapper_of(target)) is not None:
            target = target_mapper.local_table
        if not isinstance(target, FromClause):
            raise ArgumentError(
                f"Can't attach a hint to {describe(selectable)}: it is not a mapped class, "
                "alias or table; pass the entity the hint is for, or use "
                "with_statement_hint()"
            )
        return self._clone(_hints=[*self._hints, (target, text, dialect_name)])

    def with_statement_hint(self, text: str, dialect_name: str = "*") -> Self:
        """An optimizer hint for the whole statement."""
        if not isinstance(text, str):
            raise ArgumentError(f"Can't use {describe(text)} as a hint: pass the hint text")
        return self._clone(_hints=[*self._hints, (None, text, dialect_name)])

    def set_label_style(self, style: Any) -> Self:
        """How the SELECT labels its columns (``LABEL_STYLE_TABLENAME_PLUS_COL`` is what
        a query uses by default when it runs)."""
        q = self._clone()
        q._label_style = style
        return q

    def get_execution_options(self) -> dict[str, Any]:
        return dict(self._execution_options)

    def with_entities(self, *entities: object) -> Self:
        """The same criteria selecting other entities or columns.  Loader options given
        so far apply where a new entity takes them and are left out otherwise
        (``query(User).options(joinedload(User.addresses)).with_entities(User.id)``)."""
        q = self._clone()
        if self._joins and not self._select_from and self._adapter is None:
            # the joins made so far start from the entities selected until now
            # (query(User).join(Address).with_entities(Address.id) reads FROM users
            # JOIN addresses): their FROMs stay the left side once other entities are
            # selected
            q._select_from = list(self._entity_froms())
        q._set_entities(list(entities))
        q._options = [o.as_lenient() if isinstance(o, Load) else o for o in q._options]
        return q

    def add_columns(self, *columns: object) -> Self:
        """The same query selecting ``columns`` too (results become rows)."""
        q = self._clone()
        if self._adapter is not None:
            # after union() etc. the query reads a subquery: so do the columns added
            columns = tuple(self._adapted_entity(c) for c in columns)
        q._set_entities(self._entities + list(columns))
        return q

    def _adapted_entity(self, col: object) -> object:
        """A SQL expression (or mapped attribute) added to a query that reads a
        subquery, read from the subquery; a mapped attribute keeps its name in rows."""
        from sqlalchemy.sql.elements import ClauseElement

        from ..mapping.mapper import Mapper
        from .bundle import Bundle

        if isinstance(col, (type, AliasedClass, Mapper, Bundle)) or not (
                isinstance(col, ClauseElement) or hasattr(col, "__clause_element__")):
            return col
        expr: Any = col if isinstance(col, ClauseElement) else col.__clause_element__()
        assert self._adapter is not None  # (only called with an adapter)
        out: Any = self._adapter.traverse(expr)
        if out is expr:
            return col
        key = getattr(col, "key", None)
        if not isinstance(col, ClauseElement) and isinstance(key, str):
            out = out.label(key)
        return out

    def add_column(self, column: object) -> Self:
        return self.add_columns(column)

    def add_entity(self, entity: object, alias: object = None) -> Self:
        if alias is not None:
            from .aliased import aliased

            entity = aliased(entity, alias)
        return self.add_columns(entity)

    def _set_entities(self, entities: object) -> None:
        if not isinstance(entities, (list, tuple)):
            entities = [entities]
        layout = RowLayout(list(entities))  # refuses what is not an entity or column
        self._entities = list(entities)
        self._layout = layout
        if self._joinpoint is None:
            self._joinpoint = layout.primary_mapper

    def _entity_froms(self) -> list[Any]:
        """The FROMs the selected entities read (a joined-table class: its join of
        tables), as the SELECT of them names them."""
        stmt = self._layout.base_select()
        if self._layout.inherit_sources:
            stmt = self._layout.apply_inheritance(stmt)
        return list(stmt.get_final_froms())

    def from_statement(self, statement: Any) -> Self:
        """Run ``statement`` (a select(), union or text()) instead of the SELECT this query
        builds; its columns are matched to the selected entities by column (or name)."""
        check_statement(statement)
        self._refuse_after_criteria("from_statement")
        q = self._clone()
        q._statement = statement
        return q

    def with_session(self, session: SessionLike) -> Self:
        if not callable(getattr(session, "_execute_for_mapper", None)):
            raise ArgumentError(
                f"Can't run this query in {describe(session)}: it is not a Session; pass a "
                "datamapper Session"
            )
        q = self._clone()
        q.session = session
        return q

    def only_return_tuples(self, value: bool) -> Self:
        """``True``: rows even for a query of one mapped class (``row[0]`` the object)."""
        q = self._clone()
        q._tuples = bool(value)
        return q
