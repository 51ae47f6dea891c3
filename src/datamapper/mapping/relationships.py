"""Relationship properties: configuration of links between mapped classes.

``relationship()`` records what the user asked for; :meth:`RelationshipProperty.do_init`
(run by ``configure_mappers``) configures it in steps, each in a module of its own:

==================================  ====================================================
``relationship_args.py``            evaluate the arguments (strings, callables, aliases)
``relationship_joins.py``           join condition(s), direction, column pairs
``relationship_criteria.py``        the lazy-load clause; ``parent_criterion()``
``relationship_backrefs.py``        ``back_populates``/``backref``; overlapping writers
``relationship_compare.py``         ``==``/``!=``/``contains()``/``any()``/``has()`` SQL
``relationship_clauses.py``         pure helpers over clauses (``foreign()``, ``remote()``)
==================================  ====================================================

This module is the facade: the property's attributes (what other layers read) and
the order of the steps.  Nothing here touches instances: the instance layer builds
the attribute implementation from this configuration, the loading layer builds the
lazy SELECT, the unit of work reads ``direction`` and the sync pairs.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Join
from sqlalchemy.exc import ArgumentError, InvalidRequestError, SAWarning
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import ClauseElement

from .._core import annotate, annotations_of
from .cache import CacheSlot
from .cascade import CascadeOptions
from .properties import MapperProperty, PropComparator
from .relationship_args import RelationshipArguments
from .relationship_backrefs import (
    back_populates_partner,
    backref_arguments,
    check_directions,
    check_sync_backref,
    warn_overlapping_sync_targets,
)
from .relationship_clauses import (
    REMOTE_OCCURRENCE,
    Pair,
    TableColumn,
    flat_alias,
    foreign,
    non_pair_criteria,
    remote,
)
from .relationship_compare import any_criterion, has_criterion, operate
from .relationship_criteria import LazyClause, is_parent_side, lazy_clause, parent_criterion
from .relationship_joins import (
    MANYTOMANY,
    MANYTOONE,
    ONETOMANY,
    JoinAnalysis,
    JoinShape,
    RelationshipDirection,
)

if TYPE_CHECKING:
    from .attributes import QueryableAttribute
    from .lazy_view import LazyLoadView
    from .mapper import Mapper

__all__ = [
    "MANYTOMANY", "MANYTOONE", "ONETOMANY", "RelationshipDirection", "RelationshipProperty",
    "backref", "dynamic_loader", "flat_alias", "foreign", "relation", "relationship", "remote",
]

# loading.strategies reads the criteria of a join condition besides its key pairs
_non_pair_criteria = non_pair_criteria

_LAZY = frozenset({"select", True, "noload", None, False, "raise", "raise_on_sql", "joined",
                   "selectin", "subquery", "immediate", "dynamic", "write_only"})

# instance layer hooks: called with the property once it is configured
relationship_configured_hooks: list[Callable[[RelationshipProperty], None]] = []


class _Backref:
    """``backref("name", **kw)``: the reverse relationship to create."""

    def __init__(self, name: str, kwargs: dict[str, Any]) -> None:
        self.name = name
        self.kwargs = kwargs

    def __iter__(self) -> Any:  # allows ``name, kw = backref(...)``
        return iter((self.name, self.kwargs))


def backref(name: str, **kwargs: object) -> _Backref:
    """Describe the reverse side of a relationship, created when mappers are configured."""
    return _Backref(name, kwargs)


def _check_arguments(lazy: object, backref: object, back_populates: object, viewonly: bool,
                     sync_backref: bool | None) -> None:
    """Refuse arguments of relationship() that contradict each other."""
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


def declares_update_cascade(column: Any, away_from: Any = None) -> bool:
    """Whether ``column`` has a foreign key declaring ON UPDATE CASCADE (to a table
    other than ``away_from``, when given)."""
    return any(str(fk.onupdate or "").upper() == "CASCADE"
               and (away_from is None or fk.column.table is not away_from)
               for fk in getattr(column, "foreign_keys", ()))


class RelationshipProperty(MapperProperty):
    """A mapped attribute holding related objects (one, or a collection).

    Also an annotation: ``bs: Relationship[list[B]] = relationship()`` reads as
    ``Mapped[list[B]]``."""

    is_relationship = True
    _dm_mapped_annotation = True  # Relationship[...] annotates like Mapped[...]
    __class_getitem__: Any = classmethod(types.GenericAlias)

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
        association: object = None,
        distinct_target_key: object = None,
        omit_join: object = None,
        query_class: type | None = None,
        comparator_factory: Any = None,
        _legacy_inactive_history_style: bool = False,
    ) -> None:
        _check_arguments(lazy, backref, back_populates, viewonly, sync_backref)
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
        # SQLAlchemy 1.3's history style: every relationship but a many-to-one that
        # can be fetched by primary key loads the value it replaces at assignment
        self._legacy_inactive_history_style = _legacy_inactive_history_style
        self.enable_typechecks = enable_typechecks
        self.join_depth = join_depth
        self.innerjoin = innerjoin
        self.load_on_pending = load_on_pending
        self.info = info or {}
        self.doc = doc
        # a RelationshipProperty.Comparator subclass: the attribute's own SQL operators
        self.comparator_factory = comparator_factory
        self.sync_backref = sync_backref
        # lazy="dynamic": the Query subclass whose methods the attribute's query also has
        self.query_class = query_class
        # names of relationships allowed to write the same columns as this one
        self.overlaps: frozenset[str] = frozenset(
            n.strip() for n in (overlaps or "").split(",") if n.strip())
        # filled in by do_init()
        self.mapper: Mapper = None  # type: ignore[assignment]  # set when the relationship is configured, before any use
        # relationship(aliased(Child), ...): the alias's selectable (an alias of the
        # target's table, or a subquery, join or LATERAL reading its rows)
        self.target_alias: Any = None
        # relationship(aliased(Child, <subquery, join or LATERAL>)): that alias (the
        # rows are read from its selectable, see ``target_from``)
        self.target_entity: Any = None
        # remote() marks kept per occurrence in primaryjoin (see _split_marks)
        self._remote_occurrences = False
        self.direction: str = ""
        self.uselist: bool = bool(uselist)
        self.order_by: Any = None
        self.primaryjoin: Any = None
        self.secondaryjoin: Any = None
        self.local_remote_pairs: list[Pair] = []
        self.synchronize_pairs: list[Pair] = []
        self.secondary_synchronize_pairs: list[Pair] = []
        self.remote_side: frozenset[TableColumn] = frozenset()
        self.local_columns: frozenset[TableColumn] = frozenset()
        self.collection_class: Any = collection_class
        self._reverse_property: set[RelationshipProperty] = set()
        # the reverse sides a change to this attribute is mirrored on in memory: the one
        # back_populates= names (a back_populates= on one side only mirrors that side's
        # changes), the one backref= made, and for that one this
        self._mirrors: set[RelationshipProperty] = set()
        # the lazy load (see relationship_criteria.LazyClause), read by loading.related
        self._lazy_clause: Any = None
        self._lazy_params: list[tuple[str, str]] = []
        self._lazy_nkeys = 0
        self._lazy_parent_cols: frozenset[object] = frozenset()
        self._simple_m2o = False
        self._m2o_fk_keys: tuple[str, ...] = ()
        self._dm_dataclass: dict[str, object] = {}
        self._secondary_tables: frozenset[object] = frozenset()

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

    @property
    def qualname(self) -> str:
        """``"Parent.key"``, as messages name the relationship."""
        return f"{self.parent.class_.__name__}.{self.key}"

    @property
    def configured(self) -> bool:
        """Whether :meth:`do_init` has run (the attributes below ``mapper`` are set)."""
        return self._initialized

    @property
    def entity(self) -> Any:
        """The target's Mapper; for a target aliased over another selectable, the
        alias's inspection (as ``inspect(alias)`` gives it)."""
        if self.target_entity is not None:
            from sqlalchemy import inspect

            return inspect(self.target_entity)
        return self.mapper

    @property
    def target(self) -> Any:  # a Table, or the join/SELECT of a class mapped to one
        if self.target_entity is not None:
            return self.target_entity._dm_selectable
        return self.mapper.local_table

    @property
    def target_from(self) -> Any:
        """What the target's rows are read from when not the class's own tables: the
        subquery, join or LATERAL of ``relationship(aliased(Child, selectable))``
        (its columns stand for the class's, see ``relationship_args``); else None."""
        ent = self.target_entity
        return ent._dm_selectable if ent is not None else None

    @property
    def class_attribute(self) -> Any:
        return getattr(self.parent.class_, self.key)

    def _arguments(self) -> RelationshipArguments:
        # the tables string arguments name: first those of the parent's table's MetaData
        # (a class may keep its tables apart from its registry's)
        args = RelationshipArguments(self.parent.registry, self.qualname, self.target_alias,
                                     getattr(self.parent.local_table, "metadata", None))
        args.parent_tables = frozenset(self.parent.tables)
        return args

    def target_mapper(self) -> Mapper:
        """The target's mapper, also before this relationship is configured."""
        if self._initialized:
            return self.mapper
        return self._arguments().target(self.argument)

    def do_init(self) -> None:
        """Configure the relationship (once): resolve the arguments, analyse the join,
        build the lazy clause, link the reverse side."""
        if self._initialized:
            return
        args = self._arguments()
        self.mapper = args.target(self.argument)
        self.target_alias = args.target_alias
        self.target_entity = args.target_entity
        if self.secondary is not None:
            self.secondary, self._secondary_tables = args.secondary(self.secondary)
        analysis = JoinAnalysis(self.qualname, self.parent, self.mapper, self.secondary,
                                self._secondary_tables, self.viewonly)
        self._apply_join(analysis.analyze(
            args.columns(self._foreign_keys_arg, "foreign_keys"),
            args.columns(self._remote_side_arg, "remote_side"),
            args.join(self._primaryjoin_arg, "primaryjoin"),
            args.join(self._secondaryjoin_arg, "secondaryjoin")))
        self.uselist = bool(self._uselist_arg) if self._uselist_arg is not None \
            else self.direction != MANYTOONE
        if self.lazy in ("dynamic", "write_only") and (
                not self.uselist or self.direction == MANYTOONE):
            kind = "dynamic" if self.lazy == "dynamic" else "write-only"
            raise InvalidRequestError(
                f"Can't configure relationship {self.qualname} with lazy={self.lazy!r}: it "
                "refers to one object (many-to-one or uselist=False), and a "
                f"{kind} relationship is a collection; use the default lazy='select'"
            )
        if self.lazy in ("dynamic", "write_only") and self.target_entity is not None:
            raise InvalidRequestError(
                f"Can't configure relationship {self.qualname} with lazy={self.lazy!r}: its "
                f"target {self.target_entity!r} reads the rows of "
                f"{self.target_entity._dm_selectable!r}, which a {self.lazy} collection "
                "can't query; use lazy='select' (or another loader), or query "
                "select(<the alias>).where(with_parent(obj, <this relationship>))")
        self._check_delete_orphan(self.cascade)
        self.order_by = args.order_by(self._order_by_arg)
        self.collection_class = args.collection_class(self._collection_class_arg,
                                                      self.uselist)
        self._apply_lazy_clause(lazy_clause(self))
        self._initialized = True
        self._setup_reverse()
        warn_overlapping_sync_targets(self)
        for hook in relationship_configured_hooks:
            hook(self)

    def _apply_join(self, shape: JoinShape) -> None:
        self.primaryjoin = shape.primaryjoin
        self.secondaryjoin = shape.secondaryjoin
        self.direction = shape.direction
        self.synchronize_pairs = shape.synchronize_pairs
        self.secondary_synchronize_pairs = shape.secondary_synchronize_pairs
        self.local_remote_pairs = shape.local_remote_pairs
        self.local_columns = shape.local_columns
        self.remote_side = shape.remote_side
        self._remote_occurrences = shape.remote_occurrences

    def _apply_lazy_clause(self, lz: LazyClause) -> None:
        self._lazy_clause = lz.clause
        self._lazy_params = lz.params
        self._lazy_nkeys = lz.nkeys
        self._lazy_parent_cols = lz.parent_cols
        # (a many-to-one kept as a list, uselist=True, loads by the general SELECT; one
        # to a target read from a selectable of its own, relationship(aliased(Child,
        # selectable)), too: the key alone does not say the row is among the
        # selectable's, as in SQLAlchemy)
        self._simple_m2o = lz.simple_m2o and not self.uselist and self.target_entity is None
        self._m2o_fk_keys = lz.m2o_fk_keys

    def _setup_reverse(self) -> None:
        """Link the reverse side: the relationship ``back_populates`` names, or the one
        ``backref`` creates on the target."""
        if self.back_populates:
            other = back_populates_partner(self)
        elif self.backref is not None:
            name, secondary, kw = backref_arguments(self)
            other = RelationshipProperty(self.parent.class_, secondary, **kw)
            other._mirrors.add(self)
            self.mapper.add_property(name, other)
            other.do_init()
        else:
            return
        self._mirrors.add(other)
        self._reverse_property.add(other)
        other._reverse_property.add(self)
        check_sync_backref(self, other)
        check_directions(self, other)

    def _check_delete_orphan(self, cascade: CascadeOptions) -> None:
        if self.passive_deletes == "all" and (cascade.delete or cascade.delete_orphan):
            raise ArgumentError(
                f"Can't configure relationship {self.qualname} with passive_deletes='all' and "
                f"cascade {', '.join(sorted(cascade))!r}: 'all' leaves the related rows "
                "untouched when the parent is deleted, which contradicts deleting them; drop "
                "delete/delete-orphan from cascade= or use passive_deletes=True"
            )
        if cascade.delete_orphan and self.direction != ONETOMANY \
                and not self.single_parent and not self.viewonly:
            kind = "many-to-many" if self.direction == MANYTOMANY else "many-to-one"
            raise ArgumentError(
                f"Can't configure relationship {self.qualname}: delete-orphan cascade on a "
                f"{kind} relationship needs single_parent=True, so that each "
                f"{self.mapper.class_.__name__} can belong to one parent only; pass "
                "single_parent=True or drop delete-orphan from cascade="
            )

    @property
    def syncs_backref(self) -> bool:
        """Whether changes to this attribute are mirrored on the reverse side in memory."""
        return not self.viewonly and self.sync_backref is not False

    # -- helpers for other layers -----------------------------------------------

    @property
    def is_collection(self) -> bool:
        return self.uselist

    def database_cascades_updates(self, dialect_name: str | None = None) -> bool:
        """Whether the database moves the referring rows itself when a referenced key
        changes: ``passive_updates`` and every foreign-key column this relationship
        writes has a constraint with ON UPDATE CASCADE.  Otherwise (no such
        constraint declared, or a database that refuses the change) the flush writes
        the referring rows' new keys itself.  SQLite (``dialect_name``) is never
        trusted with it: its connections enforce foreign keys only when asked to."""
        if not self.passive_updates or not self.synchronize_pairs or \
                dialect_name == "sqlite":
            return False
        return all(declares_update_cascade(f) for _r, f in self.synchronize_pairs)

    def parent_key_attrs(self) -> tuple[str, ...]:
        """The attributes of ``parent`` whose values the rows of a one-to-many or
        many-to-many hold (the columns its foreign keys, or its association table's,
        refer to): the primary key, or another unique key.  When one of them changes,
        those rows follow (``()`` for a many-to-one)."""
        cached: tuple[str, ...] | None = self.__dict__.get("_parent_key_attrs")
        if cached is None:
            if self.direction == MANYTOONE:
                cached = ()
            else:
                col_to_prop = self.parent._col_to_prop
                cached = tuple(col_to_prop[r].key for r, _f in self.synchronize_pairs)
            self._parent_key_attrs = cached
        return cached

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

    def secondary_join_parts(self) -> tuple[Any, Any, Any]:
        """(secondary, primaryjoin, secondaryjoin) to join through in a query: an
        anonymous alias of the secondary and the join conditions adapted to it.

        A join used as ``secondary`` may hold the target's (or the parent's) table
        itself: it is joined as a flat alias."""
        sec = self.secondary
        # always an alias of its own (as SQLAlchemy's joins do): the same association
        # table joined twice (from two aliases of the parent, or two relationships
        # through it) must not be named twice in one FROM
        salias = flat_alias(sec) if isinstance(sec, Join) else sec.alias()

        def adapt(clause: ClauseElement, end: object) -> Any:
            def fn(element: object, **kw: object) -> Any:
                if isinstance(element, Column) and element.table is not end \
                        and self.is_secondary_column(element):
                    return salias.corresponding_column(element)
                return None

            return visitors.replacement_traverse(clause, {}, fn)

        return (salias, adapt(self.primaryjoin, self.parent.local_table),
                adapt(self.secondaryjoin, self.mapper.local_table))

    def is_secondary_column(self, col: object) -> bool:
        """Whether ``col`` belongs to the ``secondary`` selectable (or a table in it)."""
        return getattr(col, "table", None) in self._secondary_tables

    def is_remote_occurrence(self, col: object) -> bool:
        """Whether this occurrence of ``col`` in ``primaryjoin`` (self-referential)
        stands for the related row."""
        if self._remote_occurrences:
            return bool(annotations_of(col).get(REMOTE_OCCURRENCE))
        return col in self.remote_side

    def _is_parent_side(self, col: object) -> bool:
        """Whether ``col`` of the join condition stands for the parent row."""
        return is_parent_side(self, col)

    @property
    def strategy(self) -> LazyLoadView:
        """How the relationship lazy loads (``use_get``, ``_lazywhere``), for programs
        that inspect SQLAlchemy's loader strategy."""
        from .lazy_view import LazyLoadView

        return LazyLoadView(self)

    def parent_criterion(self, obj: object) -> Any:
        """The rows of the target related to ``obj`` (a parent object, persistent, pending
        or transient): the join condition with ``obj``'s columns as bound values, read
        when the statement runs (after an autoflush gave a pending object its keys)."""
        from .mapper import configure_mappers

        configure_mappers()
        crit = parent_criterion(self, obj, self._lazy_parent_cols, self._remote_occurrences)
        if self.target_from is not None:
            # the target's rows as the relationship reads them: its selectable's
            from sqlalchemy.sql.util import ClauseAdapter

            crit = ClauseAdapter(self.target_from).traverse(crit)
        return crit

    # -- SQL expressions of the class attribute (relationship_compare) ------------

    def join_condition_for_query(self) -> Any:
        if self.secondary is not None:
            return self.secondary_join_parts()  # (secondary, primaryjoin, secondaryjoin)
        return self.primaryjoin

    def clause_element(self, attr: QueryableAttribute) -> Any:
        if self.direction == MANYTOONE:
            cols = [lc for lc, _rc in self.local_remote_pairs]
            return cols[0] if len(cols) == 1 else cols
        raise ArgumentError(
            f"Can't use {self.qualname} as a column expression: it is a collection; use "
            f"{self.qualname}.any(...) or .contains(obj)"
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

    def comparator_for(self, attr: Any) -> Any:
        """The attribute's ``comparator_factory`` instance, made once per attribute."""
        found = attr.__dict__.get("_dm_comparator")
        if found is None:
            factory = self.comparator_factory or RelationshipComparator
            found = attr.__dict__["_dm_comparator"] = factory(self, attr.parent, attr)
        return found

    def operate(self, attr: QueryableAttribute, op: object, *other: object, **kw: object) -> Any:
        if self.comparator_factory is not None:
            return op(self.comparator_for(attr), *other, **kw)  # type: ignore[operator]  # op is an operator function
        return self._compare(op, other)

    def _compare(self, op: object, other: tuple[object, ...]) -> Any:
        from .mapper import configure_mappers

        configure_mappers()
        return operate(self, op, other)

    def any_(self, criterion: object = None, **kw: object) -> Any:
        return self._any(criterion, kw)

    def _any(self, criterion: object, kw: dict[str, object]) -> Any:
        from .mapper import configure_mappers

        configure_mappers()
        if not self.uselist:
            return super().any_(criterion, **kw)
        return any_criterion(self, criterion, kw)

    def has_(self, criterion: object = None, **kw: object) -> Any:
        return self._has(criterion, kw)

    def _has(self, criterion: object, kw: dict[str, object]) -> Any:
        from .mapper import configure_mappers

        configure_mappers()
        if self.uselist:
            return super().has_(criterion, **kw)
        return has_criterion(self, criterion, kw)

    def of_type_exists(self, method: str, criterion: object, target_from: Any) -> Any:
        """``any()`` / ``has()`` (``method``) of ``of_type(Sub)``: EXISTS over
        ``target_from``, the tables of the joined-table subclass ``Sub``."""
        from .mapper import configure_mappers

        configure_mappers()
        if method == "any":
            if not self.uselist:
                return super().any_(criterion)
            return any_criterion(self, criterion, {}, target_from)
        if self.uselist:
            return super().has_(criterion)
        return has_criterion(self, criterion, {}, target_from)

    def __repr__(self) -> str:
        return f"RelationshipProperty({self.qualname if hasattr(self, 'key') else '?'})"

class RelationshipComparator(PropComparator[Any]):
    """How a relationship attribute compares in SQL (``RelationshipProperty.Comparator``):
    ``==``/``!=`` an object or None, ``contains()``, ``any()`` and ``has()``.  A
    ``relationship(comparator_factory=...)`` subclass redefines some of them."""

    def __init__(self, prop: RelationshipProperty, parentmapper: Any, attr: Any = None,
                 *args: Any, **kw: Any) -> None:
        self.prop = self.property = prop
        self.parentmapper = parentmapper
        self._attr = attr

    @property
    def mapper(self) -> Any:
        """The target's Mapper."""
        from .mapper import configure_mappers

        configure_mappers()
        return self.prop.mapper

    @property
    def entity(self) -> Any:
        return self.mapper

    def __clause_element__(self) -> Any:
        return self.prop.clause_element(self._attr)

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        return self.prop._compare(op, other)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        return self.prop._compare(op, (other,))

    def any(self, criterion: object = None, **kwargs: object) -> Any:
        return self.prop._any(criterion, kwargs)

    def has(self, criterion: object = None, **kwargs: object) -> Any:
        return self.prop._has(criterion, kwargs)

    def contains(self, other: object, **kwargs: object) -> Any:
        return self.prop._compare(operators.contains_op, (other,))


RelationshipProperty.Comparator = RelationshipComparator  # type: ignore[attr-defined]  # SQLAlchemy's spelling of the base class


def relationship(argument: Any = None, secondary: Any = None, **kw: Any) -> Any:
    """A mapped attribute linking to another mapped class (see API.md).

    In an annotated class the target and the collection class may come from the
    annotation (``Mapped[list["Address"]]``); ``init``, ``default``,
    ``default_factory``, ``repr``, ``compare`` and ``kw_only`` are dataclass field
    options (used under ``MappedAsDataclass``).
    """
    from .declarative import dataclass_options

    dc = dataclass_options(kw)
    if dc.get("default") is not None:
        raise ArgumentError(
            f"Can't use default={dc['default']!r} for relationship({argument!r}): a "
            "dataclass default of a relationship may only be None; give a collection "
            "default_factory=list (or set ...), or leave the attribute unset"
        )
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
