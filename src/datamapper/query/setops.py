"""``Query`` set operations (``union()``, ``intersect()``, ``except_()`` and their
``_all`` forms): the query's SELECT combined with others becomes a subquery that the
same entities are read from, later criteria adapted to it."""

from __future__ import annotations

from typing import Any, Self, TypeVar

from sqlalchemy import (
    Column,
    except_,
    except_all,
    intersect,
    intersect_all,
    union,
    union_all,
)
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import FromClause, SelectBase
from sqlalchemy.sql.util import ClauseAdapter

from .._util import describe
from ..mapping.attributes import QueryableAttribute
from ..mapping.coercion import entity_of
from .aliased import AliasedClass
from .compiling import QueryCompiling
from .entities import (
    RowLayout,
    mapper_of,
)

_T = TypeVar("_T")


class QuerySetOps(QueryCompiling[_T]):
    """UNION / INTERSECT / EXCEPT of Queries."""

    def union(self, *queries: object) -> Self:
        """This query's rows UNION the others' (same entities, as a subquery further
        criteria apply to)."""
        return self._set_op(union, queries, "union")

    def union_all(self, *queries: object) -> Self:
        return self._set_op(union_all, queries, "union_all")

    def intersect(self, *queries: object) -> Self:
        return self._set_op(intersect, queries, "intersect")

    def intersect_all(self, *queries: object) -> Self:
        return self._set_op(intersect_all, queries, "intersect_all")

    def except_(self, *queries: object) -> Self:
        return self._set_op(except_, queries, "except_")

    def except_all(self, *queries: object) -> Self:
        return self._set_op(except_all, queries, "except_all")

    def _set_op(self, op: Any, queries: Any, name: str) -> Self:
        # every side a Query: each SELECT has the deferred columns too (_set_op_statement)
        whole = all(isinstance(other, QuerySetOps) for other in queries)
        stmts = [self._set_op_statement(whole)]
        for other in queries:
            if isinstance(other, QuerySetOps):
                stmts.append(other._set_op_statement(whole))
            elif isinstance(other, SelectBase):
                stmts.append(other)
            else:
                raise ArgumentError(
                    f"Can't {name}() with {describe(other)}: it is not a Query or select(); "
                    "pass queries selecting the same entities"
                )
        return self._from_selectable(op(*stmts).subquery())

    def _set_op_statement(self, whole: bool) -> object:
        """This query's labelled SELECT as one side of a union().  With ``whole``, it
        selects every table column of its entities, deferred ones too, so that an
        undefer() on the union finds them in the subquery (the outer SELECT still leaves
        them out unless asked); without, the columns a load selects, as a select() given
        as another side must."""
        if not whole or self._statement is not None:
            return self._labelled_statement()
        return self._before_compile()._whole_set_op_statement(self.get_label_style())

    def _whole_set_op_statement(self, label_style: object) -> object:
        """:meth:`_set_op_statement` with ``whole``, of the query ``before_compile``
        listeners gave."""
        props: list[object] = []
        for ent in self._entities:
            m = ent._dm_mapper if isinstance(ent, AliasedClass) else \
                mapper_of(ent) if isinstance(ent, type) else None
            # (a hierarchy is selected as it loads; SQL-expression attributes stay out)
            if m is None or m._poly is not None or not any(
                    p.deferred and isinstance(p.columns[0], Column)
                    for p in m.column_attrs.values()):
                props.append(None)
                continue
            load = set(m._load_props)
            props.append(tuple(p for p in m.column_attrs.values()  # in table order
                               if p in load or isinstance(p.columns[0], Column)))
        if all(p is None for p in props):
            return self._labelled_statement()
        layout = RowLayout(self._entities, props)
        return self._compile(columns=layout.columns, label_style=label_style)

    def _from_selectable(self, sub: Any) -> Self:
        """A query of the same entities read from ``sub`` (a subquery of this query's
        labelled SELECT, e.g. a UNION of it); later criteria are adapted to ``sub``."""
        from .aliased import AliasedClass

        cols = list(sub.c)
        entities: list[object] = []
        names: dict[int, str] = {}
        for ent, (kind, p), name in zip(self._layout_entities(), self._layout.parts,
                                        self._layout.names, strict=True):
            if kind == "entity":
                entities.append(AliasedClass(p.mapper, sub, None, stands_for=ent))
            elif kind == "bundle":  # the bundle over the subquery's columns
                entities.append(p.bundle._over(cols[p.offset:p.offset + p.width]))
            else:
                names[len(entities)] = name
                entities.append(cols[p])
        q = self.__class__(entities, self.session)
        q._options = list(self._options)
        q._execution_options = dict(self._execution_options)
        q._populate_existing = self._populate_existing
        q._autoflush = self._autoflush
        q._adapter = ClauseAdapter(sub)
        for i, name in names.items():  # rows keep the names the columns had
            q._layout.names[i] = name
            q._layout.descriptions[i]["name"] = name
        return q

    def _layout_entities(self) -> list[object]:
        """One entity per layout part (a subquery selected whole is several parts)."""
        out: list[object] = []
        for ent in self._entities:
            expr = ent.__clause_element__() if hasattr(ent, "__clause_element__") and \
                not isinstance(ent, (type, AliasedClass, QueryableAttribute)) else ent
            if isinstance(expr, FromClause) and not isinstance(expr, FunctionElement) and \
                    entity_of(expr) is None:
                out.extend(expr.c)
            else:
                out.append(ent)
        return out
