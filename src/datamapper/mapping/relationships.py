"""Relationship properties: configuration of links between mapped classes.

``relationship()`` records what the user asked for; :meth:`RelationshipProperty.do_init`
(run by ``configure_mappers``) resolves string targets, derives the join
condition and the direction from Core ``ForeignKey`` objects (or from
``primaryjoin``/``foreign_keys``/``remote_side``), and computes the column
pairs that the flush copies keys along.  Nothing here touches instances:
the instance layer builds the attribute implementation from this
configuration, the loading layer builds the lazy SELECT, the unit of work
reads ``direction`` and the sync pairs.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Alias, Column, FromClause, Join, Table, and_, bindparam, exists, or_, select
from sqlalchemy.exc import (
    AmbiguousForeignKeysError,
    ArgumentError,
    InvalidRequestError,
    NoForeignKeysError,
    SAWarning,
)
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, ClauseElement, ColumnElement, Null
from sqlalchemy.sql.util import find_tables

from .._core import annotate, annotations_of, anonymous_fromclause, deannotate
from .._util import NO_VALUE
from ..exc import UnsupportedRelationshipOperator
from .cache import CacheSlot
from .cascade import CascadeOptions
from .properties import MapperProperty

if TYPE_CHECKING:
    from .attributes import QueryableAttribute
    from .lazy_view import LazyLoadView
    from .mapper import Mapper

class RelationshipDirection(str):
    """A relationship's direction: equal to its name (``"ONETOMANY"`` ...), with
    ``.name`` as SQLAlchemy's enum has (libraries read ``prop.direction.name``)."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return str.__str__(self)


ONETOMANY = RelationshipDirection("ONETOMANY")
MANYTOONE = RelationshipDirection("MANYTOONE")
MANYTOMANY = RelationshipDirection("MANYTOMANY")

_LAZY = frozenset({"select", True, "noload", None, False, "raise", "raise_on_sql", "joined",
                   "selectin", "subquery", "immediate", "dynamic", "write_only"})

# column written at flush -> {relationship writing it: the column it copies from}
_SYNC_TARGETS: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[Any, Any]] = (
    weakref.WeakKeyDictionary())

# instance layer hooks: called with the property once it is configured
relationship_configured_hooks: list[Callable[[RelationshipProperty], None]] = []


class _Backref:
    """``backref("name", **kw)``: the reverse relationship to create."""

    def __init__(self, name: str, kwargs: dict[str, Any]) -> None:
        self.name = name
        self.kwargs = kwargs

    def __iter__(self) -> Any:  # allows ``name, kw = backref(...)``
        return iter((self.name, self.kwargs))


def backref(name: str, **kwargs: Any) -> _Backref:
    """Describe the reverse side of a relationship, created when mappers are configured."""
    return _Backref(name, kwargs)


class RelationshipProperty(MapperProperty):
    """A mapped attribute holding related objects (one, or a collection)."""

    is_relationship = True

    def __init__(
        self,
        argument: Any,
        secondary: Any = None,
        *,
        backref: Any = None,
        back_populates: Any = None,
        cascade: str | None = None,
        uselist: bool | None = None,
        order_by: Any = None,
        lazy: Any = "select",
        primaryjoin: Any = None,
        secondaryjoin: Any = None,
        foreign_keys: Any = None,
        remote_side: Any = None,
        post_update: bool = False,
        passive_deletes: Any = False,
        passive_updates: bool = True,
        cascade_backrefs: bool = True,
        single_parent: bool = False,
        collection_class: Any = None,
        viewonly: bool = False,
        private: bool = False,
        active_history: bool = False,
        enable_typechecks: bool = True,
        join_depth: int | None = None,
        innerjoin: bool = False,
        load_on_pending: bool = False,
        info: dict[str, Any] | None = None,
        doc: str | None = None,
        sync_backref: bool | None = None,
        overlaps: str | None = None,
        association: Any = None,
        distinct_target_key: Any = None,
        omit_join: Any = None,
        query_class: type | None = None,
    ) -> None:
        if lazy not in _LAZY:
            raise ArgumentError(
                f"Can't use lazy={lazy!r}: choose one of 'select', 'noload', 'raise', "
                "'joined', 'selectin', 'subquery', 'dynamic', 'write_only'"
            )
        if backref is not None and back_populates is not None:
            raise ArgumentError(
                "Can't use both backref and back_populates on one relationship; use one of them"
            )
        if viewonly and sync_backref:
            raise ArgumentError(
                "Can't use sync_backref=True on a viewonly relationship: a viewonly "
                "relationship never changes the other side in memory; drop sync_backref=True "
                "or viewonly=True"
            )
        if private:
            cascade = "all, delete-orphan"
        # the higher layers' caches for this relationship (see mapping/cache.py)
        self.cache: dict[CacheSlot[Any], Any] = {}
        self.argument = argument
        self.secondary = secondary
        self.backref = backref
        self.back_populates = back_populates
        self._initialized = False
        self.viewonly = viewonly
        self.cascade = cascade if cascade is not None else "save-update, merge"
        if viewonly:
            # a viewonly relationship never writes: the cascades that would (save-update,
            # delete, delete-orphan) are dropped, the others kept (SQLAlchemy 2.x)
            self.cascade = "merge" if cascade is None else \
                self.cascade & {"merge", "expunge", "refresh-expire"}
        self._uselist_arg = uselist
        self._order_by_arg = order_by
        # 0.4 spellings: lazy=True is "select", lazy=False eager ("joined"), lazy=None "noload"
        self.lazy = "select" if lazy is True else (
            "joined" if lazy is False else "noload" if lazy is None else lazy)
        self._primaryjoin_arg = primaryjoin
        self._secondaryjoin_arg = secondaryjoin
        self._foreign_keys_arg = foreign_keys
        self._remote_side_arg = remote_side
        self.post_update = post_update
        self.passive_deletes = passive_deletes
        self.passive_updates = passive_updates
        self.cascade_backrefs = cascade_backrefs
        self.single_parent = single_parent
        self._collection_class_arg = collection_class
        self.active_history = active_history
        self.enable_typechecks = enable_typechecks
        self.join_depth = join_depth
        self.innerjoin = innerjoin
        self.load_on_pending = load_on_pending
        self.info = info or {}
        self.doc = doc
        self.sync_backref = sync_backref
        # lazy="dynamic": the Query subclass whose methods the attribute's query also has
        self.query_class = query_class
        # names of relationships allowed to write the same columns as this one
        self._overlaps: frozenset[str] = frozenset(
            n.strip() for n in (overlaps or "").split(",") if n.strip())
        # filled in by do_init()
        self.mapper: Mapper = None  # type: ignore[assignment]
        # relationship(aliased(Child), ...): the alias of the target's table
        self._target_alias: Any = None
        # remote() marks kept per occurrence in primaryjoin (see _split_marks)
        self._remote_occurrences = False
        self.direction: str = ""
        self.uselist: bool = bool(uselist)
        self.order_by: Any = None
        self.primaryjoin: Any = None
        self.secondaryjoin: Any = None
        self.local_remote_pairs: list[tuple[Any, Any]] = []
        self.synchronize_pairs: list[tuple[Any, Any]] = []
        self.secondary_synchronize_pairs: list[tuple[Any, Any]] = []
        self.remote_side: frozenset[Any] = frozenset()
        self.local_columns: frozenset[Any] = frozenset()
        self.collection_class: Any = collection_class
        self._reverse_property: set[RelationshipProperty] = set()
        self._lazy_clause: Any = None
        self._lazy_params: list[tuple[str, str]] = []
        self._simple_m2o = False
        self._dm_dataclass: dict[str, Any] = {}
        self._secondary_tables: frozenset[Any] = frozenset()

    # -- configuration ---------------------------------------------------------
    @property
    def cascade(self) -> CascadeOptions:
        """The cascade options (a set of words); assignable, also after configuration."""
        return self._cascade

    @cascade.setter
    def cascade(self, value: Any) -> None:
        opts = value if isinstance(value, CascadeOptions) else CascadeOptions(value)
        if opts.delete_orphan and not opts.delete:
            warnings.warn(
                f"The 'delete-orphan' cascade option requires 'delete'. (relationship to "
                f"{getattr(self.argument, '__name__', self.argument)!s}, cascade={value!r}): orphans are deleted, but the "
                "children of a deleted parent are left behind; add 'delete' "
                "(cascade='all, delete-orphan')", SAWarning, stacklevel=3)
        if self._initialized:
            self._check_delete_orphan(opts)
        self._cascade = opts
        if self._initialized:
            for hook in relationship_configured_hooks:  # the attribute's behaviour follows
                hook(self)

    def _name(self) -> str:
        return f"{self.parent.class_.__name__}.{self.key}"

    @property
    def entity(self) -> Any:
        return self.mapper

    @property
    def target(self) -> Any:  # a Table, or the join/SELECT of a class mapped to one
        return self.mapper.local_table

    @property
    def class_attribute(self) -> Any:
        return getattr(self.parent.class_, self.key)

    def do_init(self) -> None:
        if self._initialized:
            return
        from .mapper import class_mapper  # noqa: F401  (cycle: mapper imports this module)

        self.mapper = self._resolve_target()
        if self.secondary is not None:
            self.secondary = self._resolve_secondary(self.secondary)
        self._setup_join()
        self._setup_uselist()
        if self.lazy in ("dynamic", "write_only") and (
                not self.uselist or self.direction == MANYTOONE):
            kind = "dynamic" if self.lazy == "dynamic" else "write-only"
            raise InvalidRequestError(
                f"Can't configure relationship {self._name()} with lazy={self.lazy!r}: it "
                "refers to one object (many-to-one or uselist=False), and a "
                f"{kind} relationship is a collection; use the default lazy='select'"
            )
        self._check_delete_orphan(self.cascade)
        self._setup_order_by()
        self._setup_collection_class()
        self._setup_lazy_clause()
        self._initialized = True
        self._setup_backref()
        self._warn_overlapping_sync_targets()
        for hook in relationship_configured_hooks:
            hook(self)

    def _sync_targets(self) -> list[tuple[Any, Any]]:
        """(source column, written column) for each column the flush sets from the
        related row (foreign key columns, or the secondary table's columns)."""
        return list(self.synchronize_pairs) + list(self.secondary_synchronize_pairs)

    def _warn_overlapping_sync_targets(self) -> None:
        """Warn when another relationship, not this one's reverse nor named in
        ``overlaps=``, writes a column this one writes: the flush would set it twice,
        from two unrelated attributes, and the last write wins."""
        if self.viewonly:
            return
        from .mapper import _all_mappers

        for src, dest in self._sync_targets():
            if self._target_alias is not None and dest.table is self.mapper.local_table:
                # the target's columns written through an alias of its own (as
                # SQLAlchemy sees them: columns of that alias, no other relationship's)
                continue
            writers = _SYNC_TARGETS.setdefault(dest, weakref.WeakKeyDictionary())
            others = sorted(
                ((p, p_src) for p, p_src in list(writers.items())
                 if p is not self and p not in self._reverse_property
                 and p.key not in self._overlaps and self.key not in p._overlaps
                 and p.parent in _all_mappers and p._initialized and not p.viewonly
                 and not self._same_link_in_hierarchy(p)),
                key=lambda item: item[0]._name())
            if others:
                listed = ", ".join(f"'{p._name()}' (copies {p_src} to {dest})"
                                   for p, p_src in others)
                names = ",".join(sorted({p.key for p, _s in others}))
                warnings.warn(
                    f"relationship '{self._name()}' will copy column {src} to column {dest}, "
                    f"which conflicts with relationship(s): {listed}. Each of them sets that "
                    "column at flush and the last one processed wins. If they describe the "
                    "same link, pair them with back_populates; if one of them only reads, "
                    "give it viewonly=True; if foreign key constraints only partly overlap, "
                    "mark the columns this relationship writes with foreign() in its "
                    f"primaryjoin. If the overlap is intended, add the parameter "
                    f"'overlaps=\"{names}\"' to the '{self._name()}' relationship to "
                    "silence this warning.",
                    SAWarning, stacklevel=2,
                )
            writers[self] = src

    def _same_link_in_hierarchy(self, other: RelationshipProperty) -> bool:
        """Relationships of one inheritance hierarchy that can't both apply to a row:
        on sibling classes (or towards siblings), or a subclass's relationship of the
        same name as its superclass's (an override)."""
        def sibling(a: Any, b: Any) -> bool:
            return a.base_mapper is b.base_mapper and not a.isa(b) and not b.isa(a)

        if sibling(self.parent, other.parent) or sibling(self.mapper, other.mapper) \
                or sibling(self.parent, other.mapper) or sibling(self.mapper, other.parent):
            return True
        return self.key == other.key and self.parent.common_parent(other.parent)

    def _check_delete_orphan(self, cascade: CascadeOptions) -> None:
        if self.passive_deletes == "all" and (cascade.delete or cascade.delete_orphan):
            raise ArgumentError(
                f"Can't configure relationship {self._name()} with passive_deletes='all' and "
                f"cascade {', '.join(sorted(cascade))!r}: 'all' leaves the related rows "
                "untouched when the parent is deleted, which contradicts deleting them; drop "
                "delete/delete-orphan from cascade= or use passive_deletes=True"
            )
        if cascade.delete_orphan and self.direction != ONETOMANY \
                and not self.single_parent and not self.viewonly:
            kind = "many-to-many" if self.direction == MANYTOMANY else "many-to-one"
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: delete-orphan cascade on a "
                f"{kind} relationship needs single_parent=True, so that each "
                f"{self.mapper.class_.__name__} can belong to one parent only; pass "
                "single_parent=True or drop delete-orphan from cascade="
            )

    def _eval(self, value: Any, what: str) -> Any:
        """Resolve a string, or a callable returning the value (declarative style)."""
        if isinstance(value, str):
            return self._eval_string(value, what)
        if callable(value) and not isinstance(value, (type, ColumnElement, Table)) and not hasattr(
            value, "__clause_element__"
        ) and not hasattr(value, "_dm_mapper"):
            try:
                return value()
            except TypeError:
                return value
        return value

    def _eval_string(self, text: str, what: str) -> Any:
        reg = self.parent.registry
        names: dict[str, Any] = {}
        if reg is not None:
            for m in list(getattr(reg, "_mappers", [])):
                names[m.class_.__name__] = m.class_
        from sqlalchemy import asc, desc, func, not_, or_

        from .. import mapping as _pkg  # noqa: F401

        names.update({"and_": and_, "or_": or_, "not_": not_, "desc": desc, "asc": asc,
                      "func": func, "foreign": _foreign, "remote": _remote})
        if reg is not None and text in reg._class_registry:
            return reg._class_registry[text]
        if reg is not None:
            found = reg.resolve_name(text)
            if found is not None:
                return found
        if reg is not None and hasattr(reg, "metadata") and text in reg.metadata.tables:
            return reg.metadata.tables[text]
        try:
            return eval(text, {"__builtins__": {}}, _Namespace(names, reg))  # noqa: S307
        except Exception as e:
            raise InvalidRequestError(
                f"Can't configure relationship {self._name()}: could not resolve {what} "
                f"{text!r} ({e}); check the class or table name is spelled right and mapped"
            ) from None

    def _resolve_target(self) -> Mapper:
        from .mapper import Mapper, _mapper_or_none

        if self.argument is None:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: it names no target class; pass "
                "it (relationship(\"Address\")) or annotate the attribute, e.g. "
                "Mapped[list[\"Address\"]]"
            )
        target = self._eval(self.argument, "target")
        if isinstance(target, Mapper):
            return target
        if getattr(target, "_dm_selectable", None) is not None and \
                isinstance(getattr(target, "_dm_mapper", None), Mapper):
            return self._aliased_target(target)
        m = _mapper_or_none(target)
        if m is None:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: its target {self.argument!r} is "
                "not a mapped class; pass the class, its name as a string, or its Mapper"
            )
        return m

    def _aliased_target(self, alias: Any) -> Mapper:
        """``relationship(aliased(Child), primaryjoin=...)``: the class, with the join
        condition (and foreign_keys/remote_side/order_by) written against an alias
        of its table.  Those are read as the same columns of the table itself
        (:meth:`_unalias`); the alias only keeps the relationship apart from others
        writing the same columns (no overlap warning, as in SQLAlchemy)."""
        mapper: Mapper = alias._dm_mapper
        sel = alias._dm_selectable
        if getattr(sel, "element", None) is not mapper.local_table:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: its target {alias!r} is an "
                f"aliased class over {sel!r}, not over {mapper.class_.__name__}'s own table; "
                f"a relationship may target aliased({mapper.class_.__name__}) (an alias of "
                "its table) only; for rows of a subquery use a viewonly relationship to "
                "the class with a primaryjoin that selects them"
            )
        self._target_alias = sel
        return mapper

    def _unalias(self, clause: Any) -> Any:
        """``clause`` with the target alias's columns replaced by its table's."""
        alias = self._target_alias
        if alias is None or clause is None:
            return clause
        table = alias.element

        def fn(elem: Any) -> Any:
            if isinstance(elem, ColumnElement) and getattr(elem, "table", None) is alias:
                return table.c[elem.key]
            return None

        return visitors.replacement_traverse(clause, {}, fn)  # type: ignore[call-overload]

    def _resolve_table(self, value: Any, what: str) -> Table:
        t = self._eval(value, what)
        if not isinstance(t, Table):
            t = getattr(t, "__table__", t)
        if not isinstance(t, Table):
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: {what} {value!r} is not a Table"
            )
        return t

    def _resolve_secondary(self, value: Any) -> Any:
        """The ``secondary`` selectable: a Table, or (read through only) an alias,
        subquery or join of tables; never a mapped class (its rows have their own
        life through that class)."""
        from .mapper import _mapper_or_none

        sec = self._secondary_by_name(value) if isinstance(value, str) else \
            self._eval(value, "secondary")
        if isinstance(sec, type) and _mapper_or_none(sec) is not None:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: secondary={value!r} is the "
                f"mapped class {sec.__name__}; the rows of a secondary table are written by the "
                "relationship itself, so pass a Table that no class maps (or map the "
                "association as a class with two many-to-one relationships)"
            )
        if not isinstance(sec, FromClause):
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: secondary {value!r} is not a "
                "Table (or an alias, subquery or join of tables)"
            )
        if isinstance(sec, Join):
            self._secondary_tables = frozenset(
                t for t in visitors.iterate(sec) if isinstance(t, (Table, Alias)))
        else:
            self._secondary_tables = frozenset((sec,))
        return sec

    def _secondary_by_name(self, name: str) -> Any:
        """``secondary="name"``: a table of the metadata by its key ("links" or
        "schema.links"), or a class of the registry; never evaluated as an
        expression."""
        reg = self.parent.registry
        meta = getattr(reg, "metadata", None) if reg is not None else None
        if meta is not None and name in meta.tables:
            return meta.tables[name]
        found = reg.resolve_name(name) if reg is not None else None
        if found is not None:
            return found
        raise InvalidRequestError(
            f"Can't configure relationship {self._name()}: secondary={name!r} names no table "
            "of the registry's MetaData; a string secondary is a table name (or "
            "'schema.table'), not evaluated as an expression; pass the Table object or a "
            "lambda returning it"
        )

    def secondary_join_parts(self) -> tuple[Any, Any, Any]:
        """(secondary, primaryjoin, secondaryjoin) to join through in a query.

        A join used as ``secondary`` may hold the target's (or the parent's) table
        itself: it is joined as a flat alias, the join conditions adapted to it."""
        sec = self.secondary
        if not isinstance(sec, Join):
            return sec, self.primaryjoin, self.secondaryjoin
        salias = flat_alias(sec)

        def adapt(clause: Any, end: Any) -> Any:
            def fn(elem: Any) -> Any:
                if isinstance(elem, Column) and elem.table is not end \
                        and self.is_secondary_column(elem):
                    return salias.corresponding_column(elem)
                return None

            # clause is a join condition: no overload of replacement_traverse matches Any
            return visitors.replacement_traverse(clause, {}, fn)  # type: ignore[call-overload]

        return (salias, adapt(self.primaryjoin, self.parent.local_table),
                adapt(self.secondaryjoin, self.mapper.local_table))

    def is_secondary_column(self, col: Any) -> bool:
        """Whether ``col`` belongs to the ``secondary`` selectable (or a table in it)."""
        return getattr(col, "table", None) in self._secondary_tables

    def _columns(self, value: Any, what: str) -> set[Any]:
        if value is None:
            return set()
        value = self._eval(value, what)
        if not isinstance(value, (list, tuple, set, frozenset)):
            value = [value]
        return {self._column_arg(v, what) for v in value}

    def _column_arg(self, value: Any, what: str) -> Any:
        """One element of ``foreign_keys``/``remote_side``/``order_by``: a column
        expression (or a callable returning one).  A string is evaluated only when it is
        the whole argument (``foreign_keys="Address.user_id"``), never inside a list."""
        v = value if isinstance(value, str) else self._eval(value, what)
        if hasattr(v, "__clause_element__"):
            v = v.__clause_element__()
        if not isinstance(v, ColumnElement):
            hint = (" (a string is evaluated only as the whole argument: write "
                    f"{what}=\"[Class.attr, ...]\" or a list of Class.attr / table.c.col)"
                    if isinstance(value, str) else "")
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: Column expression expected "
                f"for argument '{what}'; got {value!r}{hint}"
            )
        return self._unalias(v)

    def _pairs_from_remote_side(self, pj: Any, remote_arg: set[Any]) -> list[tuple[Any, Any]]:
        """(parent column, remote column) for each comparison of a column the parent maps
        with one named in ``remote_side``."""
        mapped = self.parent._col_to_prop
        out = []
        for a, b in _column_comparisons(pj):
            for lc, rc in ((a, b), (b, a)):
                if rc in remote_arg and lc not in remote_arg and lc in mapped \
                        and (lc, rc) not in out:
                    out.append((lc, rc))
        if not out:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: its join condition {pj} "
                "goes through other tables, and no column of the parent is compared with "
                "a column named in remote_side=; pass remote_side= naming the columns the "
                f"parent's columns are compared with (the local/remote column pairs of "
                "the join)"
            )
        return out

    def _join_arg(self, value: Any, what: str) -> Any:
        """``primaryjoin``/``secondaryjoin`` evaluated: None or a SQL expression."""
        if value is None:
            return None
        clause = self._unalias(_coerce_clause(self._eval(value, what)))
        if not isinstance(clause, ColumnElement):
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: {what} {clause!r} is not a SQL "
                "expression comparing columns of the two sides (e.g. Parent.id == "
                "Child.parent_id); a Python comparison of two plain values gives True or "
                "False, and a join of tables is given as secondary="
            )
        return clause

    def _setup_join(self) -> None:
        """Work out the join condition(s), the direction, and the column pairs
        (synchronize, local/remote) from the tables, the foreign keys and the
        ``primaryjoin``/``secondaryjoin``/``foreign_keys``/``remote_side`` arguments."""
        parent_t = self.parent.local_table
        target_t = self.mapper.local_table
        fk_arg = self._columns(self._foreign_keys_arg, "foreign_keys")
        remote_arg = self._columns(self._remote_side_arg, "remote_side")
        pj = self._join_arg(self._primaryjoin_arg, "primaryjoin")
        sj = self._join_arg(self._secondaryjoin_arg, "secondaryjoin")
        pj, pj_foreign, pj_remote, pj_occ = _split_marks(_coerce_clause(pj))
        sj, sj_foreign, _sj_remote, _sj_occ = _split_marks(_coerce_clause(sj))
        fk_arg |= pj_foreign | sj_foreign
        remote_arg |= pj_remote
        if len(self.parent.tables) > 1 or len(self.mapper.tables) > 1:
            # mapper inheritance: the tables of each side that the join links
            parent_t, target_t = _inherited_ends(
                self.parent.tables, self.mapper.tables, self.secondary, pj,
                self.parent.non_table or self.mapper.non_table)
        if self.secondary is not None:
            self._setup_secondary_join(self.secondary, parent_t, target_t, pj, sj, fk_arg)
            return
        if pj is None:
            pj = self._derive(parent_t, target_t, fk_arg, "primaryjoin")
        self.primaryjoin = pj
        self_ref = parent_t is target_t
        if pj_occ is not None and self_ref:
            self._setup_occurrence_join(pj_occ, pj_foreign, pj_remote)
            return
        if self_ref:
            pairs = self._self_referential_pairs(pj, fk_arg, remote_arg)
        else:
            pairs = self._pairs_between_tables(pj, parent_t, target_t, fk_arg, remote_arg)
        if not pairs:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: could not tell which columns of "
                f"{pj} refer to the other side; pass foreign_keys= (and remote_side= for a "
                "self-referential relationship)"
            )
        # pairs: (referenced column, foreign column)
        self.synchronize_pairs = pairs
        if self.direction == ONETOMANY:
            self.local_remote_pairs = [(r, f) for r, f in pairs]
        else:
            self.local_remote_pairs = [(f, r) for r, f in pairs]
        mapped = self.parent._col_to_prop
        if not self_ref and any(lc not in mapped for lc, _rc in self.local_remote_pairs):
            # (viewonly) a join through other tables: the parent's side of it is where
            # a parent column meets remote_side=
            self.local_remote_pairs = self._pairs_from_remote_side(pj, remote_arg)
        self.local_columns = frozenset(lc for lc, _rc in self.local_remote_pairs)
        self.remote_side = frozenset(rc for _lc, rc in self.local_remote_pairs)

    def _setup_secondary_join(self, sec: Any, parent_t: Any, target_t: Any, pj: Any, sj: Any,
                              fk_arg: set[Any]) -> None:
        """Many-to-many through ``secondary``: both joins (derived when not given) and
        the pairs of each side's columns with the secondary table's."""
        if pj is None:
            pj = self._derive_from_parent_tables(sec, fk_arg)
        if sj is None:
            try:
                sj = self._derive(target_t, sec, fk_arg, "secondaryjoin", only_from=sec,
                                  exclude=pj if parent_t is target_t else None)
            except NoForeignKeysError:
                if parent_t is target_t:
                    raise
                # the target's table refers to the secondary (secondary= names an
                # intermediate table of a chain: grandparent -> parent <- child)
                sj = self._derive(target_t, sec, fk_arg, "secondaryjoin",
                                  only_from=target_t)
        self.primaryjoin, self.secondaryjoin = pj, sj
        self.direction = MANYTOMANY
        p_pairs = _pairs(pj, self.is_secondary_column, fk_arg)
        s_pairs = _pairs(sj, self.is_secondary_column, fk_arg)
        if not p_pairs or not s_pairs:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: could not find columns of "
                f"secondary table {sec.name!r} compared to {parent_t.name!r} and "
                f"{target_t.name!r}; give primaryjoin= and secondaryjoin= (or foreign_keys=)"
            )
        self.synchronize_pairs = p_pairs  # (parent col, secondary col)
        self.secondary_synchronize_pairs = s_pairs  # (target col, secondary col)
        self.local_remote_pairs = list(p_pairs) + list(s_pairs)
        self.remote_side = frozenset(c for _s, c in p_pairs + s_pairs)
        self.local_columns = frozenset(s for s, _c in p_pairs)

    def _self_referential_pairs(self, pj: Any, fk_arg: set[Any], remote_arg: set[Any]
                                ) -> list[Any]:
        """(referenced, foreign) pairs of a join of a table to itself; sets the
        direction (remote_side= tells it: one-to-many unless it names the referenced
        columns)."""
        is_foreign = (lambda c: c in fk_arg) if fk_arg else _fk_refers_within(pj)
        pairs = _pairs(pj, is_foreign, fk_arg)
        if remote_arg:
            # a column compared to itself (company_id = company_id in a composite
            # self-referential key) is on both sides: it tells no direction
            foreign_cols = {f for r, f in pairs if r is not f}
            self.direction = ONETOMANY if foreign_cols & remote_arg else MANYTOONE
        else:
            if not pairs and self.viewonly:
                pairs = _pairs(pj, is_foreign, fk_arg, any_operator=True)
            self.direction = ONETOMANY
        return pairs

    def _pairs_between_tables(self, pj: Any, parent_t: Any, target_t: Any,
                              fk_arg: set[Any], remote_arg: set[Any]) -> list[Any]:
        """(referenced, foreign) pairs of a join of two different tables; sets the
        direction from the table holding the foreign columns."""
        self._check_remote_side_between_tables(pj, parent_t, remote_arg)
        if fk_arg:
            both = [(a, b) for a, b in _column_comparisons(pj)
                    if a in fk_arg and b in fk_arg and a.table is not b.table]
            if both:
                a, b = both[0]
                raise ArgumentError(
                    f"Can't configure relationship {self._name()}: can't tell its "
                    f"direction: foreign_keys= names {a} and {b}, columns of both the "
                    "parent's and the target's table in the same comparison; name only "
                    "the columns that refer to the other side"
                )
            def is_foreign(c: Any) -> bool:
                return c in fk_arg
        else:
            def is_foreign(c: Any) -> bool:
                return _has_fk_to(c, target_t if c.table is parent_t else parent_t)
        pairs = _pairs(pj, is_foreign, fk_arg)
        if not pairs and self.viewonly:
            # a read-only join on other comparisons (>, LIKE, between(), op())
            pairs = _pairs(pj, is_foreign, fk_arg, any_operator=True)
        foreign_tables = {f.table for _r, f in pairs}
        if not pairs:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: no foreign key links "
                f"{parent_t.name!r} and {target_t.name!r} in its join condition; add a "
                "ForeignKey to the Table, or pass foreign_keys= naming the referring columns"
            )
        if foreign_tables == {target_t}:
            self.direction = ONETOMANY
        elif foreign_tables == {parent_t}:
            self.direction = MANYTOONE
        else:
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: foreign keys run both ways "
                f"between {parent_t.name!r} and {target_t.name!r}; pass foreign_keys= "
                "naming the referring columns of this relationship"
            )
        return pairs

    def _check_remote_side_between_tables(self, pj: Any, parent_t: Any,
                                          remote_arg: set[Any]) -> None:
        """remote_side= on a join of two tables: refused when it can't split a
        comparison, warned about (and ignored) where it names the parent's columns."""
        if remote_arg and not any((a in remote_arg) != (b in remote_arg)
                                  for a, b in _column_comparisons(pj)):
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: remote_side= names "
                "columns on both sides (or on neither side) of each comparison in "
                f"{pj}, so no local/remote column pair can be told apart; name only "
                "the related table's columns, or drop remote_side= (it is needed only "
                "for a self-referential relationship)"
            )
        for col in sorted(remote_arg, key=str):
            if col.table is parent_t:
                warnings.warn(
                    f"Expression {col} is marked as 'remote', but these column(s) are "
                    f"local to the local side. Relationship {self._name()} joins two "
                    "different tables, so its remote side is simply the target's "
                    "columns; remote() and remote_side= matter only when both ends are "
                    "the same table. The mark is ignored; drop it.",
                    SAWarning, stacklevel=4,
                )

    def _setup_occurrence_join(self, occ: Any, foreign: set[Any], remote: set[Any]) -> None:
        """A self-referential condition with one column on both sides (see
        :func:`_split_marks`): the remote side is each occurrence marked remote(),
        kept in ``primaryjoin`` as an annotation that joins, lazy loads and eager loads
        read (:meth:`is_remote_occurrence`).  foreign() on the remote occurrences makes
        it a one-to-many (on the local ones, a many-to-one).  Only ``=`` comparisons
        can be written; anything else is for viewonly=True relationships."""
        self.primaryjoin = occ
        self._remote_occurrences = True
        lrp: list[tuple[Any, Any]] = []
        eq_pairs: list[tuple[Any, Any]] = []
        for elem in visitors.iterate(occ):
            if not isinstance(elem, BinaryExpression):
                continue
            lcols = [elem.left] if isinstance(elem.left, Column) else _columns_in(elem.left)
            rcols = [elem.right] if isinstance(elem.right, Column) else _columns_in(elem.right)
            for a in lcols:
                for b in rcols:
                    ra = bool(annotations_of(a).get(REMOTE_OCCURRENCE))
                    rb = bool(annotations_of(b).get(REMOTE_OCCURRENCE))
                    if ra == rb:
                        continue
                    pair = (deannotate(b), deannotate(a)) if ra else \
                        (deannotate(a), deannotate(b))
                    if pair not in lrp:
                        lrp.append(pair)
                    if elem.operator is operators.eq and pair not in eq_pairs:
                        eq_pairs.append(pair)
        if not lrp or (not eq_pairs and not self.viewonly):
            why = ("compares the remote() occurrences of its columns only with '=' "
                   "nowhere, so nothing can be written; give viewonly=True" if lrp else
                   "compares no occurrence marked remote() with an unmarked one; mark the "
                   "related row's side with remote()")
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: its join condition "
                f"{occ} {why}"
            )
        one_to_many = bool(foreign & remote)
        self.direction = ONETOMANY if one_to_many else MANYTOONE
        pairs = eq_pairs if eq_pairs else lrp  # (local column, remote column)
        # synchronize_pairs: (referenced column, foreign column)
        self.synchronize_pairs = pairs if one_to_many else [(r, lc) for lc, r in pairs]
        self.local_remote_pairs = lrp
        self.local_columns = frozenset(lc for lc, _rc in lrp)
        self.remote_side = frozenset(rc for _lc, rc in lrp)

    def is_remote_occurrence(self, col: Any) -> bool:
        """Whether this occurrence of ``col`` in ``primaryjoin`` (self-referential)
        stands for the related row."""
        if self._remote_occurrences:
            return bool(annotations_of(col).get(REMOTE_OCCURRENCE))
        return col in self.remote_side

    def _derive_from_parent_tables(self, sec: Any, fk_arg: set[Any]) -> Any:
        """The secondary's join to the parent: to the parent's own table, else (an
        inheriting class) to the first of its superclasses' tables it refers to."""
        parent_t = self.parent.local_table
        others = [t for t in reversed(getattr(self.parent, "tables", [parent_t]))
                  if t is not parent_t]
        try:
            return self._derive(parent_t, sec, fk_arg, "primaryjoin", only_from=sec)
        except NoForeignKeysError:
            for t in others:
                try:
                    return self._derive(t, sec, fk_arg, "primaryjoin", only_from=sec)
                except NoForeignKeysError:
                    continue
            if parent_t is not (self.mapper.local_table if self.mapper else None):
                try:  # the parent's table refers to the secondary
                    return self._derive(parent_t, sec, fk_arg, "primaryjoin",
                                        only_from=parent_t)
                except NoForeignKeysError:
                    pass
            raise

    def _derive(self, a: Table, b: Table, fk_arg: set[Any], what: str,
                only_from: Table | None = None, exclude: Any = None) -> Any:
        """Build ``a JOIN b`` from foreign keys between the two tables."""
        cands: list[tuple[Any, Any]] = []  # (foreign col, referenced col)
        for src, dst in ((b, a), (a, b)):
            if only_from is not None and src is not only_from:
                continue
            for fk in sorted(src.foreign_keys, key=lambda f: (f.parent.name, f.target_fullname)):
                if fk_arg and fk.parent not in fk_arg:
                    continue
                try:
                    col = fk.column
                except Exception:
                    continue
                if col.table is dst and (fk.parent, col) not in cands:
                    cands.append((fk.parent, col))
            if a is b:
                break
        if exclude is not None:
            used = {c for c in _columns_in(exclude)}
            rest = [(f, r) for f, r in cands if f not in used]
            if rest:
                cands = rest
        if fk_arg and not cands:
            # foreign_keys= names columns with no ForeignKey: pair by column comparison
            for col in sorted(fk_arg, key=lambda c: str(c)):
                other = a if col.table is b else b
                if col.table in (a, b) and col.name in other.c:
                    cands.append((col, other.c[col.name]))
        if not cands:
            raise NoForeignKeysError(
                f"Can't configure relationship {self._name()}: there is no foreign key between "
                f"tables {a.name!r} and {b.name!r} to derive its {what} from; add a ForeignKey, "
                f"or pass {what}= (and foreign_keys=)"
            )
        src_tables = {f.table for f, _r in cands}
        by_ref: dict[Any, list[Any]] = {}
        for f, r in cands:
            by_ref.setdefault(r, []).append(f)
        if len(src_tables) > 1 and a is not b and only_from is None:
            raise AmbiguousForeignKeysError(
                f"Can't configure relationship {self._name()}: tables {a.name!r} and "
                f"{b.name!r} have foreign keys in both directions; pass foreign_keys= naming "
                "the referring column(s), or primaryjoin="
            )
        if any(len(v) > 1 for v in by_ref.values()):
            names = ", ".join(f"{f.table.name}.{f.name}" for f, _r in cands)
            raise AmbiguousForeignKeysError(
                f"Can't configure relationship {self._name()}: several foreign key paths join "
                f"{a.name!r} and {b.name!r} ({names}); pass foreign_keys= naming the one "
                f"to use, or {what}="
            )
        # referenced column first, as Core's join_condition() writes it
        # (``users.id = addresses.user_id``)
        return and_(*[r == f for f, r in cands]) if len(cands) > 1 else cands[0][1] == cands[0][0]

    def _setup_uselist(self) -> None:
        if self._uselist_arg is not None:
            self.uselist = bool(self._uselist_arg)
        else:
            self.uselist = self.direction != MANYTOONE

    def _setup_order_by(self) -> None:
        ob = self._order_by_arg
        if ob is None or ob is False:
            self.order_by = None
            return
        ob = self._eval(ob, "order_by")
        if not isinstance(ob, (list, tuple)):
            ob = [ob]
        self.order_by = [self._column_arg(o, "order_by") for o in ob]

    def _setup_collection_class(self) -> None:
        cc = self._collection_class_arg
        if cc is None:
            self.collection_class = list if self.uselist else None
        else:
            if not isinstance(cc, type) and callable(cc):
                cc = _class_from_factory(cc, self._name())
            self.collection_class = cc
            if not self.uselist:
                raise ArgumentError(
                    f"Can't configure relationship {self._name()}: collection_class given with "
                    "uselist=False"
                )

    def _setup_lazy_clause(self) -> None:
        """``target WHERE <remote columns> = :params from the parent row``.

        Criteria of the join condition besides the key pairs stay in the clause; the
        parent's own columns in them become parameters bound from the parent's values
        too (the lazy SELECT never has the parent table in its FROM)."""
        if self.direction != MANYTOMANY and not (
                self._pairs_are_conjuncts()
                and all(lc in self.parent._col_to_prop for lc, _rc in self.local_remote_pairs)):
            # OR-ed or non-equality pairs, or (viewonly) a join through other tables
            self._setup_whole_lazy_clause()
            return
        params: list[tuple[str, str]] = []  # (bind name, parent attribute key)
        crit = []
        if self.direction == MANYTOMANY:
            for i, (pcol, scol) in enumerate(self.synchronize_pairs):
                name = f"_dm_lz_{i}"
                params.append((name, self.parent._col_to_prop[pcol].key))
                crit.append(scol == bindparam(name))
            crit.append(self.secondaryjoin)
            extra = _non_pair_criteria(self.primaryjoin, self.synchronize_pairs)
        else:
            for i, (lc, rc) in enumerate(self.local_remote_pairs):
                name = f"_dm_lz_{i}"
                prop = self.parent._col_to_prop.get(lc)
                if prop is None:
                    raise ArgumentError(
                        f"Can't configure relationship {self._name()}: column {lc} is not "
                        f"mapped on {self.parent.class_.__name__}"
                    )
                params.append((name, prop.key))
                crit.append(rc == bindparam(name))
            extra = _non_pair_criteria(self.primaryjoin,
                                       [(a, b) for a, b in self.local_remote_pairs])
        self._lazy_nkeys = len(params)  # the key parameters; the rest are extra criteria
        bound: dict[Any, str] = {}  # parent-side column -> bind name
        parent_cols = self.parent._col_to_prop

        def bind_parent(elem: Any) -> Any:
            if isinstance(elem, Column) and self._is_parent_side(elem):
                name = bound.get(elem)
                if name is None:
                    name = bound[elem] = f"_dm_lz_{len(params)}"
                    params.append((name, parent_cols[elem].key))
                return bindparam(name, type_=elem.type)
            return None

        for part in extra:
            # part is Any (a clause element): no overload matches Any
            crit.append(visitors.replacement_traverse(part, {}, bind_parent))  # type: ignore[call-overload]
        self._lazy_parent_cols: frozenset[Any] = frozenset(bound)
        self._lazy_clause = and_(*crit) if len(crit) > 1 else crit[0]
        self._lazy_params = params
        # many-to-one on the target's primary key: look in the identity map first
        self._simple_m2o = (
            self.direction == MANYTOONE and len(crit) == len(self.local_remote_pairs)
            and {rc for _lc, rc in self.local_remote_pairs} == set(self.mapper.primary_key)
        )
        if self._simple_m2o:
            by_remote = {rc: lc for lc, rc in self.local_remote_pairs}
            self._m2o_fk_keys: tuple[str, ...] = tuple(
                self.parent._col_to_prop[by_remote[c]].key for c in self.mapper.primary_key
            )

    @property
    def strategy(self) -> LazyLoadView:
        """How the relationship lazy loads (``use_get``, ``_lazywhere``), for programs
        that inspect SQLAlchemy's loader strategy."""
        from .lazy_view import LazyLoadView

        return LazyLoadView(self)

    def parent_criterion(self, obj: Any) -> Any:
        """The rows of the target related to ``obj`` (a parent object, persistent, pending
        or transient): the join condition with ``obj``'s columns as bound values, read
        when the statement runs (after an autoflush gave a pending object its keys)."""
        from .mapper import configure_mappers

        configure_mappers()
        local = [pc for pc, _sc in self.synchronize_pairs] if self.direction == MANYTOMANY \
            else [lc for lc, _rc in self.local_remote_pairs]
        parent_cols = self.parent._col_to_prop
        binds: dict[Any, Any] = {}

        def bind_parent(elem: Any) -> Any:
            if not isinstance(elem, Column) or elem not in parent_cols:
                return None
            if elem not in local and elem not in self._lazy_parent_cols:
                return None
            if self._remote_occurrences and self.is_remote_occurrence(elem):
                return None
            b = binds.get(elem)
            if b is None:
                b = binds[elem] = bindparam(
                    None, callable_=_attribute_reader(obj, parent_cols[elem].key, elem),
                    type_=elem.type)
            return b

        crit = visitors.replacement_traverse(self.primaryjoin, {}, bind_parent)  # type: ignore[call-overload]
        if self.direction == MANYTOMANY:
            crit = and_(crit, self.secondaryjoin)
        return crit

    def _pairs_are_conjuncts(self) -> bool:
        """Whether each key pair is an ``a == b`` AND-ed at the top of the join condition
        (the usual case); not so for OR-ed alternatives or other comparisons."""
        pj = self.primaryjoin
        parts = list(pj.clauses) if getattr(pj, "operator", None) is operators.and_ else [pj]
        eqs = {frozenset((id(p.left), id(p.right))) for p in parts
               if isinstance(p, BinaryExpression) and p.operator is operators.eq}
        return all(frozenset((id(a), id(b))) in eqs for a, b in self.local_remote_pairs)

    def _setup_whole_lazy_clause(self) -> None:
        """The lazy clause of a join condition that is not an AND of key equalities:
        the condition itself, each parent-side column bound from the parent row.  No
        parameter is a key that makes the load empty when None (an OR-ed alternative
        may still match)."""
        params: list[tuple[str, str]] = []
        bound: dict[Any, str] = {}
        parent_cols = self.parent._col_to_prop

        def bind_parent(elem: Any) -> Any:
            if isinstance(elem, Column) and self._is_parent_side(elem):
                name = bound.get(elem)
                if name is None:
                    name = bound[elem] = f"_dm_lz_{len(params)}"
                    params.append((name, parent_cols[elem].key))
                return bindparam(name, type_=elem.type)
            return None

        # the join condition is Any (a clause element): no overload matches Any
        self._lazy_clause = visitors.replacement_traverse(  # type: ignore[call-overload]
            self.primaryjoin, {}, bind_parent)
        self._lazy_nkeys = 0
        self._lazy_params = params
        self._lazy_parent_cols = frozenset(bound)
        self._simple_m2o = False

    def _is_parent_side(self, col: Any) -> bool:
        """Whether ``col`` of the (non-pair part of the) join condition stands for the
        parent row: a column the parent maps, not on the remote side (self-referential)
        nor of the target's or the secondary table."""
        if col not in self.parent._col_to_prop:
            return False
        if self.secondary is not None and self.is_secondary_column(col):
            return False
        if self.parent.local_table is self.mapper.local_table:
            if self.direction == MANYTOMANY:
                return True  # only primaryjoin's criteria are considered here
            return not self.is_remote_occurrence(col)
        return col not in self.mapper._col_to_prop

    def _setup_backref(self) -> None:

        target: Mapper = self.mapper
        if self.back_populates:
            name = self._back_populates_key()
            other = target._props.get(name)
            if other is None:
                raise InvalidRequestError(
                    f"Can't configure relationship {self._name()}: back_populates="
                    f"{name!r} names no relationship on "
                    f"{target.class_.__name__}; add it there (with back_populates="
                    f"{self.key!r})"
                )
            if not getattr(other, "is_relationship", False):
                raise InvalidRequestError(
                    f"Can't configure relationship {self._name()}: back_populates="
                    f"{name!r} names the attribute {target.class_.__name__}.{name}, which "
                    "is not a relationship; name the relationship on "
                    f"{target.class_.__name__} that links back to "
                    f"{self.parent.class_.__name__}"
                )
            other_target = other.mapper if other._initialized else other._resolve_target()
            if other_target is not self.parent:
                raise ArgumentError(
                    f"Can't configure relationship {self._name()}: back_populates={name!r} "
                    f"names {other._name()}, which refers to "
                    f"{other_target.class_.__name__}, not {self.parent.class_.__name__}; "
                    "the two sides of back_populates must refer to each other's classes"
                )
            self._reverse_property.add(other)
            other._reverse_property.add(self)
            self._check_sync_backref(other)
            self._check_directions(other)
            return
        if self.backref is None:
            return
        if isinstance(self.backref, str):
            name, kw = self.backref, {}
        else:
            name, kw = self.backref.name, dict(self.backref.kwargs)
        if name in target._props:
            raise ArgumentError(
                f"Can't create backref {name!r} for {self._name()}: "
                f"{target.class_.__name__} already has an attribute {name!r}; pick another name "
                "or use back_populates on both sides"
            )
        if self.secondary is not None:
            kw.setdefault("primaryjoin", self.secondaryjoin)
            kw.setdefault("secondaryjoin", self.primaryjoin)
            kw.setdefault("foreign_keys", [c for _a, c in self.synchronize_pairs]
                          + [c for _a, c in self.secondary_synchronize_pairs])
            other = RelationshipProperty(self.parent.class_, self.secondary, **kw)
        else:
            kw.setdefault("primaryjoin", self.primaryjoin)
            kw.setdefault("foreign_keys", [f for _r, f in self.synchronize_pairs])
            if self.parent.local_table is self.mapper.local_table \
                    and self.direction == MANYTOONE:
                # self-referential: the reverse of a many-to-one is the one-to-many (the
                # reverse of a one-to-many is not guessed: as in SQLAlchemy, a backref
                # without remote_side= is a one-to-many too, refused below)
                kw.setdefault("remote_side", [f for _r, f in self.synchronize_pairs])
            if "uselist" not in kw and self.direction == MANYTOONE:
                kw["uselist"] = True
            if "uselist" not in kw and self.direction == ONETOMANY:
                kw["uselist"] = False
            if self.viewonly:
                kw.setdefault("viewonly", True)
            kw.setdefault("sync_backref", self.sync_backref)
            other = RelationshipProperty(self.parent.class_, **kw)
        target.add_property(name, other)
        other.do_init()
        self._reverse_property.add(other)
        other._reverse_property.add(self)
        self._check_sync_backref(other)
        self._check_directions(other)

    def _back_populates_key(self) -> str:
        """The name given by ``back_populates``: a string, the reverse attribute
        (``User.addresses``), or a callable returning either."""
        from .attributes import QueryableAttribute

        value = self.back_populates
        if callable(value) and not isinstance(value, QueryableAttribute):
            value = value()
        if isinstance(value, QueryableAttribute):
            value = value.key
        if not isinstance(value, str):
            raise ArgumentError(
                f"Can't configure relationship {self._name()}: back_populates={value!r} is "
                "neither the name of the reverse relationship nor that attribute; pass "
                "e.g. back_populates=\"user\""
            )
        self.back_populates = value
        return value

    def _check_directions(self, other: RelationshipProperty) -> None:
        """A backref pair links a one-to-many with a many-to-one (or two many-to-many)."""
        if not (self._initialized and other._initialized):
            return  # checked when the other side is configured
        if self.direction == other.direction and self.direction != MANYTOMANY:
            side = "one-to-many" if self.direction == ONETOMANY else "many-to-one"
            referenced = ", ".join(str(r) for r, _f in self.synchronize_pairs)
            raise ArgumentError(
                f"Can't configure relationships {self._name()} and {other._name()} as "
                f"reverses of each other: both are {side} ({self.direction}); for a "
                "self-referential pair give remote_side= (the referenced columns) to the "
                f"many-to-one side only, e.g. remote_side=[{referenced}] (with a backref: "
                f"backref(\"name\", remote_side=[{referenced}]))"
            )

    def _check_sync_backref(self, other: RelationshipProperty) -> None:
        """A viewonly side never tells the other side about changes; and the other side
        tells it only when asked to (``sync_backref=True``), never by default."""
        for a, b in ((self, other), (other, self)):
            if not a.viewonly:
                continue
            if b.sync_backref:
                raise InvalidRequestError(
                    f"Can't configure relationship {b._name()} with sync_backref=True: its "
                    f"reverse side {a._name()} is viewonly=True, and a viewonly relationship "
                    "is never changed by its backref; drop sync_backref=True"
                )
            if not b.viewonly:
                b.sync_backref = False

    @property
    def syncs_backref(self) -> bool:
        """Whether changes to this attribute are mirrored on the reverse side in memory."""
        return not self.viewonly and self.sync_backref is not False

    # -- helpers for other layers -----------------------------------------------
    @property
    def is_collection(self) -> bool:
        return self.uselist

    def sync_keys(self) -> list[tuple[str, str]]:
        """(source attribute key, dest attribute key) for copying keys in a flush.

        Source is on the referenced ("parent" of the dependency) mapper, dest on the
        referring one.  Not used for many-to-many.
        """
        cached: list[tuple[str, str]] | None = self.__dict__.get("_sync_keys")
        if cached is None:
            cached = self._sync_keys = self._compute_sync_keys()
            self._src_keys = tuple(s for s, _d in cached)
            self._dest_keys = tuple(d for _s, d in cached)
        return cached

    def _compute_sync_keys(self) -> list[tuple[str, str]]:
        if self.direction == ONETOMANY:
            src, dst = self.parent, self.mapper
        else:
            src, dst = self.mapper, self.parent
        return [(src._col_to_prop[r].key, dst._col_to_prop[f].key)
                for r, f in self.synchronize_pairs]

    def join_condition_for_query(self) -> Any:
        if self.secondary is not None:
            return self.secondary_join_parts()  # (secondary, primaryjoin, secondaryjoin)
        return self.primaryjoin

    def clause_element(self, attr: QueryableAttribute) -> Any:
        if self.direction == MANYTOONE:
            cols = [lc for lc, _rc in self.local_remote_pairs]
            return cols[0] if len(cols) == 1 else cols
        raise ArgumentError(
            f"Can't use {self._name()} as a column expression: it is a collection; use "
            f"{self._name()}.any(...) or .contains(obj)"
        )

    def join_clause_element(self, attr: QueryableAttribute) -> Any:
        """What Core reads through ``User.addresses.__clause_element__()``: the
        foreign key column of a many-to-one on one column (``order_by(Address.user)``),
        else the join condition, marked with this relationship.  (A join along the
        relationship never reads it: the attribute itself is the join target.)"""
        from .mapper import configure_mappers

        configure_mappers()
        if self.direction == MANYTOONE and len(self.local_remote_pairs) == 1:
            return self.local_remote_pairs[0][0]
        cached = self.__dict__.get("_dm_join_clause")
        if cached is None:
            cached = self._dm_join_clause = annotate(self.primaryjoin,
                {"dm_relationship": self})
        return cached

    def operate(self, attr: QueryableAttribute, op: Any, *other: Any, **kw: Any) -> Any:
        from .mapper import configure_mappers

        configure_mappers()
        value = other[0] if other else None
        if isinstance(value, Null):  # Address.user == null(): as == None
            value = None
        if op is operators.contains_op:
            return self._contains(value)
        if op in (operators.eq, operators.ne):
            if op is operators.ne and value is not None and self.direction == MANYTOONE:
                # a row whose foreign key is NULL refers to no object: not that one either
                return self._not_related_to(value)
            crit = self._compare_to_object(value)
            if op is operators.ne:
                return ~crit
            return crit
        raise UnsupportedRelationshipOperator(
            f"Can't use operator {getattr(op, '__name__', op)} with relationship {self._name()}: "
            "compare to an object with == or !=, or use .any()/.has()/.contains()"
        )

    def _values_of(self, obj: Any, cols: list[Any], mapper: Mapper) -> list[Any]:
        d = obj.__dict__
        out = []
        for c in cols:
            k = mapper._col_to_prop[c].key
            if k not in d:
                getattr(obj, k)
            out.append(d.get(k))
        return out

    def _check_object(self, value: Any, what: str) -> None:
        """``value`` must be an instance of the target class (a bad one gets a message
        naming the relationship, not an AttributeError from deep inside)."""
        target = self.mapper.class_
        if not isinstance(value, target):
            raise ArgumentError(
                f"Can't {what} {self._name()} with {value!r}: it takes a {target.__name__} "
                f"object; to compare a key value, compare the foreign key column instead"
            )

    def _compare_to_object(self, value: Any) -> Any:
        if self.direction == MANYTOONE:
            locals_ = [lc for lc, _rc in self.local_remote_pairs]
            if value is None:
                return and_(*[lc.is_(None) for lc in locals_])
            self._check_object(value, "compare")
            return self._bound_join_condition(value)
        if value is None:
            return ~(self.any_() if self.uselist else self.has_())
        if not self.uselist:  # one-to-one seen from the parent side
            self._check_object(value, "compare")
            return self._member_criterion(value)
        raise InvalidRequestError(
            f"Can't compare collection {self._name()} to {value!r}: a collection can't be "
            f"compared to a value or object; use contains() to test membership "
            f"({self._name()}.contains(obj)) or .any(...)"
        )

    def _bound_join_condition(self, obj: Any) -> Any:
        """The join condition with each column of the target's side replaced by ``obj``'s
        value for it, read when the statement runs (many-to-one ``== obj``)."""
        target = self.mapper

        def replace(elem: Any, **_kw: Any) -> Any:
            if isinstance(elem, Column) and elem in target._col_to_prop and \
                    not self._is_parent_side(elem):
                return self._value_param(obj, elem, None)
            return None

        # (as in loading.strategies: no overload of replacement_traverse matches here)
        return visitors.replacement_traverse(  # type: ignore[call-overload]
            self.primaryjoin, {}, replace)

    def _value_param(self, obj: Any, col: Any, name: str | None) -> Any:
        from .coercion import state_of

        key = self.mapper._col_to_prop[col].key
        # the value the object has now, used if it can't be read when the statement runs
        # (the object detached and expired since): a known value beats an error
        known = obj.__dict__.get(key, _UNKNOWN)
        state = state_of(obj) if state_of is not None else None
        if state is not None:  # and the value it has when next expired (a flush's key)
            state.track_last_known(key)
        return bindparam(name, type_=col.type, unique=True,
                         callable_=lambda: _value_for_comparison(obj, key, col, known))

    def _is_plain_key_join(self) -> bool:
        """Whether the join condition is only ``foreign key = target primary key``."""
        pairs = self.local_remote_pairs
        binaries = [b for b in visitors.iterate(self.primaryjoin)
                    if isinstance(b, BinaryExpression)]
        return len(binaries) == len(pairs) and \
            all(b.operator is operators.eq for b in binaries) and \
            {rc for _lc, rc in pairs} == set(self.mapper.primary_key)

    def _not_related_to(self, obj: Any) -> Any:
        """Many-to-one ``!= obj``: rows not related to ``obj``, those with a NULL foreign
        key included."""
        self._check_object(obj, "compare")
        if self._is_plain_key_join():
            return and_(*[or_(lc != self._value_param(obj, rc, lc.key), lc.is_(None))
                          for lc, rc in self.local_remote_pairs])
        target = self.mapper
        keys = [target._col_to_prop[c].key for c in target.primary_key]
        return ~self.has_(and_(*[c == getattr(obj, k)
                                 for c, k in zip(target.primary_key, keys, strict=True)]))

    def _contains(self, value: Any) -> Any:
        if not self.uselist:
            raise ArgumentError(f"contains() applies to collections, not to {self._name()}; "
                                "compare with == instead")
        self._check_object(value, "test membership in")
        return self._member_criterion(value)

    def _member_criterion(self, value: Any) -> Any:
        """Rows of the parent table related to ``value`` (one-to-many, many-to-many)."""
        if self.direction == ONETOMANY:
            parents = [r for r, _f in self.synchronize_pairs]
            vals = self._values_of(value, [f for _r, f in self.synchronize_pairs], self.mapper)
            return and_(*[p == v for p, v in zip(parents, vals, strict=True)])
        sec = self.secondary
        tvals = self._values_of(value, [t for t, _s in self.secondary_synchronize_pairs],
                                self.mapper)
        crit = [s == v for (_t, s), v in zip(self.secondary_synchronize_pairs, tvals,
                                              strict=True)]
        crit.extend(p == s for p, s in self.synchronize_pairs)
        return exists(select(1).select_from(sec).where(and_(*crit)).scalar_subquery())

    def _criterion_for(self, criterion: Any, kw: dict[str, Any]) -> list[Any]:
        crit = []
        if criterion is not None:
            crit.append(criterion)
        for k, v in kw.items():
            crit.append(getattr(self.mapper.class_, k) == v)
        return crit

    def any_(self, criterion: Any = None, **kw: Any) -> Any:
        from .mapper import configure_mappers

        configure_mappers()
        if not self.uselist:
            return super().any_(criterion, **kw)
        crit = self._criterion_for(criterion, kw)
        if self.direction == MANYTOMANY:
            where = and_(self.primaryjoin, self.secondaryjoin, *crit)
            sub = select(1).select_from(self.target).select_from(self.secondary).where(where)
        else:
            sub = select(1).select_from(self.target).where(and_(self.primaryjoin, *crit))
        return exists(self._correlate_parent_only(sub))

    def _correlate_parent_only(self, sub: Any) -> Any:
        """The EXISTS of any()/has() correlates to the parent's table only: the target and
        secondary tables are its own even when the enclosing query joins them too."""
        own: list[Any] = [self.target]
        if self.secondary is not None:
            own.append(self.secondary)
            own.extend(find_tables(self.secondary))
        return sub.correlate_except(*own)

    def has_(self, criterion: Any = None, **kw: Any) -> Any:
        from .mapper import configure_mappers

        configure_mappers()
        if self.uselist:
            return super().has_(criterion, **kw)
        crit = self._criterion_for(criterion, kw)
        if self.secondary is not None:
            where = and_(self.primaryjoin, self.secondaryjoin, *crit)
            sub = select(1).select_from(self.target).select_from(self.secondary).where(where)
        else:
            sub = select(1).select_from(self.target).where(and_(self.primaryjoin, *crit))
        return exists(self._correlate_parent_only(sub))

    def __repr__(self) -> str:
        return f"RelationshipProperty({self._name() if hasattr(self, 'key') else '?'})"


_UNKNOWN = object()


def _value_for_comparison(obj: Any, key: str, col: Any, known: Any = _UNKNOWN) -> Any:
    """``obj``'s value of attribute ``key`` (mapped to ``col``) when a statement comparing a
    relationship to ``obj`` runs; loaded if the object is persistent and it is expired."""
    from .coercion import state_of

    d = obj.__dict__
    if key in d:
        value = d[key]
    else:
        state = state_of(obj) if state_of is not None else None
        where = f"column {col} on object <{type(obj).__name__} at {hex(id(obj))}>"
        if state is not None and state.detached:
            last = state.last_known(key)
            if last is not NO_VALUE:
                known = last
        if known is not _UNKNOWN and (state is None or state.key is None or state.detached):
            return known
        if state is None or state.key is None:
            raise InvalidRequestError(
                f"Can't resolve value for {where}; no value has been set for this column, "
                "so the object can't be compared by it; set it (or flush the object) first")
        if state.detached:
            raise InvalidRequestError(
                f"Can't resolve value for {where}; the object is detached and the value was "
                "expired; refresh it in a session, or compare by the column instead")
        value = getattr(obj, key)
    if value is None:
        warnings.warn(
            f"Got None for value of column {col}; a relationship comparison sends it as a "
            "bound NULL, which matches no row (use == None to test for IS NULL)",
            SAWarning, stacklevel=2)
    return value


def relationship(argument: Any = None, secondary: Any = None, **kw: Any) -> Any:
    """A mapped attribute linking to another mapped class (see API.md).

    In an annotated class the target and the collection class may come from the
    annotation (``Mapped[list["Address"]]``); ``init``, ``default``,
    ``default_factory``, ``repr``, ``compare`` and ``kw_only`` are dataclass field
    options (used under ``MappedAsDataclass``).
    """
    from .declarative import dataclass_options

    dc = dataclass_options(kw)
    prop = RelationshipProperty(argument, secondary, **kw)
    prop._dm_dataclass = dc
    return prop


def dynamic_loader(argument: Any, secondary: Any = None, **kw: Any) -> RelationshipProperty:
    """Legacy spelling of ``relationship(argument, lazy="dynamic", ...)``: the attribute
    reads as a query of the related objects (``AppenderQuery``)."""
    kw["lazy"] = "dynamic"
    return RelationshipProperty(argument, secondary, **kw)


def relation(argument: Any = None, secondary: Any = None, **kw: Any) -> RelationshipProperty:
    """Legacy name of :func:`relationship` (0.3/0.4 documents)."""
    return RelationshipProperty(argument, secondary, **kw)


# -- join analysis helpers ------------------------------------------------------------
class _Namespace(dict[str, Any]):
    """Names for evaluating string arguments: mapped classes, then table names."""

    def __init__(self, names: dict[str, Any], reg: Any) -> None:
        super().__init__(names)
        self.reg = reg

    def __missing__(self, key: str) -> Any:
        if self.reg is not None:
            found = self.reg.resolve_name(key)
            if found is not None:
                return found
            tables = getattr(self.reg, "metadata", None)
            if tables is not None and key in tables.tables:
                return tables.tables[key]
        raise NameError(key)


def flat_alias(sel: Any) -> Any:
    """An anonymous alias of ``sel``; a join becomes the same join of aliased tables
    (an alias of a join would not render as a FROM item)."""
    if isinstance(sel, Join):
        return anonymous_fromclause(sel, flat=True)
    return sel.alias()


def _mark_columns(expr: Any, mark: str) -> Any:
    """A copy of ``expr`` whose table columns carry the annotation ``mark``."""
    expr = _coerce_clause(expr)
    if isinstance(expr, str) or not isinstance(expr, ClauseElement):
        raise ArgumentError(
            f"Can't mark {expr!r} as {mark}: {mark}() takes a column or a SQL expression "
            "over columns (Table.c.x, MyClass.x)"
        )

    def replace(elem: Any) -> Any:
        if isinstance(elem, Column):
            return annotate(elem, {mark: True})
        return None

    # elem is a clause element: no overload of replacement_traverse matches Any
    return visitors.replacement_traverse(expr, {}, replace)  # type: ignore[call-overload]


def foreign(expr: Any) -> Any:
    """Mark the columns of ``expr`` (in a ``primaryjoin``/``secondaryjoin``) as the
    referring side of the relationship, as ``foreign_keys=`` would."""
    return _mark_columns(expr, "foreign")


def remote(expr: Any) -> Any:
    """Mark the columns of ``expr`` (in a ``primaryjoin``) as belonging to the related
    row, as ``remote_side=`` would (needed for self-referential relationships)."""
    return _mark_columns(expr, "remote")


_foreign = foreign
_remote = remote


REMOTE_OCCURRENCE = "_dm_remote"  # annotation: this occurrence of the column is remote


def _split_marks(clause: Any) -> tuple[Any, set[Any], set[Any], Any]:
    """``clause`` without foreign()/remote() marks, the columns marked each way, and,
    when a column marked remote() also appears unmarked (one column on both sides of a
    self-referential condition: ``remote(foreign(t.path)).like(t.path + '/%')``),
    the clause with each remote occurrence annotated :data:`REMOTE_OCCURRENCE`
    (else None): there the column alone can't tell the sides apart."""
    if clause is None:
        return None, set(), set(), None
    marked: dict[str, set[Any]] = {"foreign": set(), "remote": set()}
    unmarked: set[Any] = set()

    # every occurrence (the replacement below visits a column object once)
    for elem in visitors.iterate(clause):
        if isinstance(elem, Column):
            ann = annotations_of(elem)
            if not (ann and ann.get("remote")):
                unmarked.add(deannotate(elem) if ann else elem)

    def replace(elem: Any) -> Any:
        if not isinstance(elem, Column):
            return None
        ann = annotations_of(elem)
        if ann and ("foreign" in ann or "remote" in ann):
            plain = deannotate(elem)
            for mark in ("foreign", "remote"):
                if ann.get(mark):
                    marked[mark].add(plain)
            return plain
        return None

    # elem is a clause element: no overload of replacement_traverse matches Any
    plain = visitors.replacement_traverse(clause, {}, replace)  # type: ignore[call-overload]
    if not marked["foreign"] and not marked["remote"]:
        return clause, set(), set(), None
    if not marked["remote"] & unmarked:
        return plain, marked["foreign"], marked["remote"], None

    def occurrence(elem: Any) -> Any:
        if not isinstance(elem, Column):
            return None
        ann = annotations_of(elem)
        bare = deannotate(elem) if ann else elem
        if ann and ann.get("remote"):
            return annotate(bare, {REMOTE_OCCURRENCE: True})
        return bare

    occ = visitors.replacement_traverse(clause, {}, occurrence)  # type: ignore[call-overload]
    return plain, marked["foreign"], marked["remote"], occ


def _coerce_clause(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "__clause_element__"):
        return value.__clause_element__()
    return value


def _columns_in(clause: Any) -> list[Any]:
    out: list[Any] = []
    for elem in visitors.iterate(clause):
        if isinstance(elem, Column) and elem not in out:
            out.append(elem)
    return out


def _equalities(clause: Any, fk_arg: set[Any] | frozenset[Any] = frozenset()
                ) -> list[tuple[Any, Any]]:
    """(left, right) of each ``column == column`` in ``clause``; also of the columns
    inside SQL expressions compared with ``=`` (``t1.id == foreign(func.lower(t2.x))``)
    when one of the two is named foreign (``foreign()``/``foreign_keys=``)."""
    out = []
    for elem in visitors.iterate(clause):
        if isinstance(elem, BinaryExpression) and elem.operator is operators.eq:
            left, right = elem.left, elem.right
            if isinstance(left, Column) and isinstance(right, Column):
                out.append((left, right))
            elif fk_arg:
                lcols = [left] if isinstance(left, Column) else _columns_in(left)
                rcols = [right] if isinstance(right, Column) else _columns_in(right)
                out.extend((a, b) for a in lcols for b in rcols
                           if a is not b and (a in fk_arg) != (b in fk_arg))
    return out


def _column_comparisons(clause: Any) -> list[tuple[Any, Any]]:
    """(left, right) for each column of the left and each of the right operand of every
    comparison in ``clause`` (any operator: ``>``, ``LIKE``, ``between()``, ``op()``)."""
    out: list[tuple[Any, Any]] = []
    for elem in visitors.iterate(clause):
        if isinstance(elem, BinaryExpression):
            lcols = [elem.left] if isinstance(elem.left, Column) else _columns_in(elem.left)
            rcols = [elem.right] if isinstance(elem.right, Column) else _columns_in(elem.right)
            out.extend((a, b) for a in lcols for b in rcols if a is not b)
    return out


def _has_fk_to(col: Any, table: Table) -> bool:
    for fk in col.foreign_keys:
        try:
            if fk.column.table is table:
                return True
        except Exception:
            continue
    return False


def _fk_refers_within(clause: Any) -> Callable[[Any], bool]:
    cols = set(_columns_in(clause))

    def is_foreign(c: Any) -> bool:
        for fk in c.foreign_keys:
            try:
                if fk.column in cols:
                    return True
            except Exception:
                continue
        return False

    return is_foreign


def _pairs(clause: Any, is_foreign: Callable[[Any], bool], fk_arg: set[Any],
           any_operator: bool = False) -> list[tuple[Any, Any]]:
    """(referenced column, foreign column) for each ``a == b`` in ``clause`` (each
    comparison of two columns, whatever its operator, with ``any_operator``)."""
    out = []
    for a, b in (_column_comparisons(clause) if any_operator else _equalities(clause, fk_arg)):
        fa, fb = is_foreign(a), is_foreign(b)
        if fa and not fb:
            out.append((b, a))
        elif fb and not fa:
            out.append((a, b))
        elif fa and fb:
            # both sides refer somewhere (self-referential): the one with an fk to the other
            if any(getattr(fk, "column", None) is b for fk in a.foreign_keys):
                out.append((b, a))
            else:
                out.append((a, b))
    return out


def _attribute_reader(obj: Any, key: str, col: Any) -> Any:
    def read() -> Any:
        value = getattr(obj, key)
        if value is None:
            warnings.warn(
                f"Got None for value of column {col} of {type(obj).__name__}.{key}: the "
                "relationship criterion compares it with '=', which matches no row (it is "
                "not turned into IS NULL); give the object its key values first",
                SAWarning, stacklevel=2)
        return value

    return read


def _non_pair_criteria(clause: Any, pairs: list[tuple[Any, Any]]) -> list[Any]:
    """Parts of an AND-ed join clause that are not one of the column pairs."""
    if clause is None:
        return []
    parts = list(clause.clauses) if getattr(clause, "operator", None) is operators.and_ else [
        clause]
    pair_set = {frozenset((id(a), id(b))) for a, b in pairs}
    out = []
    for p in parts:
        if isinstance(p, BinaryExpression) and p.operator is operators.eq and isinstance(
            p.left, Column
        ) and isinstance(p.right, Column) and frozenset((id(p.left), id(p.right))) in pair_set:
            continue
        out.append(p)
    return out


def _inherited_ends(parents: list[Any], targets: list[Any], secondary: Any,
                    pj: Any, joins: bool = False) -> tuple[Any, Any]:
    """(parent table, target table) of a relationship whose parent or target maps
    several tables (joined-table inheritance, or a class mapped to a join: ``joins``):
    the subclass's own table unless the join condition given, or the foreign keys,
    name another one of its tables."""
    p_order = list(reversed(parents))
    t_order = list(reversed(targets))
    if pj is not None:
        used = {getattr(c, "table", None) for c in _columns_in(pj)}
        p = next((t for t in p_order if t in used), p_order[0])
        t = next((t for t in t_order if t in used and t is not p), t_order[0])
        return p, t

    def refs(a: Any, b: Any) -> bool:
        # a key-to-key foreign key is the one joining a subclass table to its base
        # (no such thing between the tables of a join)
        return any(fk.references(b) and (joins or not (fk.parent.primary_key
                                                       and fk.column.primary_key))
                   for fk in a.foreign_keys)

    def linked(a: Any, b: Any) -> bool:
        return refs(a, b) or refs(b, a)

    if secondary is not None:
        p = next((t for t in p_order if linked(t, secondary)), p_order[0])
        t = next((t for t in t_order if linked(t, secondary)), t_order[0])
        return p, t
    for p in p_order:
        for t in t_order:
            if p is not t and linked(p, t):
                return p, t
    return p_order[0], t_order[0]


_factory_classes: dict[Any, type] = {}


def _collection_like(sample: object) -> bool:
    """Whether a collection_class factory's result is a collection class of the
    program's: methods marked with @collection decorators, or list/set-like ones."""
    if isinstance(sample, (str, bytes)):
        return False
    if any(callable(getattr(sample, n, None)) for n in ("append", "add")):
        return True
    return any(hasattr(v, "_dm_collection_role") for k in type(sample).__mro__
               for v in vars(k).values())


def _class_from_factory(factory: Any, where: str) -> type:
    """A collection class standing for ``collection_class=factory`` (a function that
    returns a new empty collection, such as ``ordering_list("position")``).

    The ORM makes collections by calling a class without arguments; this subclass of
    the factory's result type copies, on construction, the instance attributes of a
    fresh result of the factory (its configuration), so that its methods, which the
    instrumentation calls through ``super()``, behave as the factory's object would."""
    made = _factory_classes.get(factory)
    if made is not None:
        return made
    sample = factory()
    base = type(sample)
    own = not isinstance(sample, (list, set, dict))  # a class with @collection methods
    if (own and not _collection_like(sample)) or (not own and len(sample)):
        raise ArgumentError(
            f"Can't configure relationship {where}: its collection_class factory "
            f"{factory!r} returned {sample!r}; it must return a new, empty list, set, "
            "keyed dictionary or collection class of the program's")

    builtin = next((k for k in base.__mro__ if k in (list, set, dict)), None)

    def __init__(self: Any, *args: Any) -> None:
        if builtin is not None:
            builtin.__init__(self, *args)  # the factory's own __init__ may want arguments
        proto = factory()
        if hasattr(proto, "__dict__"):
            self.__dict__.update(proto.__dict__)

    made = type(base.__name__, (base,), {
        "__init__": __init__, "__module__": base.__module__,
        "__qualname__": base.__qualname__, "_dm_factory": factory})
    _factory_classes[factory] = made
    return made
