"""Resolution of a relationship's arguments, as written by the user.

``relationship("Address", secondary="links", order_by="Address.email",
foreign_keys=lambda: [...], primaryjoin="...")``: strings are evaluated against the
registry's classes and tables, callables are called, class attributes become their
columns, and an ``aliased(Child)`` target is read as its table.  One
:class:`RelationshipArguments` resolves the arguments of one relationship at
configure time; it knows the registry and the relationship's name (for messages),
nothing else of the property.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Alias, FromClause, Join, Lateral, Table, and_
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

from .._core import annotate, annotations_of, deannotate
from .relationship_clauses import coerce_clause, foreign, remote

if TYPE_CHECKING:
    from .mapper import Mapper


class RelationshipArguments:
    """Evaluates the arguments of relationship ``where`` (``"User.addresses"``) against
    ``registry``; after :meth:`target`, ``target_alias`` is the aliased table of an
    ``aliased(Child)`` target (else None), and the columns of later arguments written
    against that alias are read as the table's own."""

    def __init__(self, registry: Any, where: str, target_alias: Any = None,
                 metadata: Any = None) -> None:
        self.registry = registry
        self.where = where
        self.target_alias = target_alias
        # relationship(aliased(Child, <subquery, join or LATERAL>)): the alias, and the
        # mapped columns its selectable's columns stand for (see _aliased_target)
        self.target_entity: Any = None
        self._from_columns: dict[Any, Any] = {}
        # the parent's tables (a target over a selectable of the same table: the
        # selectable's columns in the join condition are marked remote())
        self.parent_tables: frozenset[Any] = frozenset()
        # the MetaData whose tables a string names first (the class's own, which may
        # differ from the registry's), then the registry's
        self.metadatas = [m for m in (metadata, getattr(registry, "metadata", None))
                          if m is not None]

    def _error(self, cls: type[Exception], text: str) -> Exception:
        return cls(f"Can't configure relationship {self.where}: {text}")

    def evaluate(self, value: object, what: str) -> Any:
        """Resolve a string, or a callable returning the value (declarative style)."""
        if isinstance(value, str):
            return self._evaluate_string(value, what)
        if callable(value) and not isinstance(value, (type, ColumnElement, Table)) and \
                not hasattr(value, "__clause_element__") and not hasattr(value, "_dm_mapper"):
            try:
                return value()
            except TypeError:
                return value
        return value

    def _evaluate_string(self, text: str, what: str) -> Any:
        reg = self.registry
        from sqlalchemy import asc, desc, func, not_, or_

        names: dict[str, Any] = {
            "and_": and_, "or_": or_, "not_": not_, "desc": desc, "asc": asc,
            "func": func, "foreign": foreign, "remote": remote}
        try:
            if reg is not None and text.isidentifier():
                found = reg.resolve_name(text)
                if found is not None:
                    return found
            elif reg is not None and text in reg._class_registry:  # "module.Qual.Name"
                return reg._class_registry[text]
            table = _table_named(self.metadatas, text)
            if table is not None:
                return table
            return eval(text, {"__builtins__": {}},  # noqa: S307
                        _Namespace(names, reg, self.metadatas))
        except Exception as e:
            raise self._error(
                InvalidRequestError, f"could not resolve {what} {text!r} ({e}); check the "
                "class or table name is spelled right and mapped") from None

    def target(self, argument: object) -> Mapper:
        """The mapper of the target class (``argument``: a class, its name, its
        Mapper, a callable returning one of them, or ``aliased(Child)``)."""
        from .mapper import Mapper, _mapper_or_none

        if argument is None:
            raise self._error(
                ArgumentError, "it names no target class; pass it (relationship(\"Address\")) "
                "or annotate the attribute, e.g. Mapped[list[\"Address\"]]")
        target = self.evaluate(argument, "target")
        if isinstance(target, Mapper):
            return target
        if getattr(target, "_dm_selectable", None) is not None and \
                isinstance(getattr(target, "_dm_mapper", None), Mapper):
            return self._aliased_target(target)
        m = _mapper_or_none(target)
        if m is None:
            raise self._error(
                ArgumentError, f"its target {argument!r} is not a mapped class; pass the "
                "class, its name as a string, or its Mapper")
        return m

    def _aliased_target(self, alias: Any) -> Mapper:
        """``relationship(aliased(Child), primaryjoin=...)``: the class, with the join
        condition (and foreign_keys/remote_side/order_by) written against the alias.

        Over an alias of its table, those are read as the same columns of the table
        itself (:meth:`unalias`); the alias only keeps the relationship apart from
        others writing the same columns (no overlap warning, as in SQLAlchemy).

        Over any other selectable (a subquery selecting the class's rows with more
        columns, such as a window function's; a join of its table to others; a
        LATERAL subquery), the target's rows are the selectable's: ``target_entity``
        is the alias, whose selectable the relationship's SQL reads the rows from.
        The selectable's columns standing for mapped columns are read as those
        (the analysis, the key pairs and the flush see the class's columns); its
        other columns (``partition.c.index``) stay, and are the target's side."""
        mapper: Mapper = alias._dm_mapper
        sel = alias._dm_selectable
        if sel is mapper.local_table:
            return mapper  # aliased(Child, child_table): the class's own table
        if getattr(sel, "element", None) is not mapper.local_table:
            if getattr(alias, "_dm_missing_pk", None):
                name = mapper.class_.__name__
                raise self._error(
                    ArgumentError, f"its target {alias!r} reads {sel!r}, which does not "
                    f"select {name}'s primary key column(s) "
                    f"{', '.join(alias._dm_missing_pk)}; the related objects are "
                    "identified by it: select those columns in the subquery")
            if isinstance(sel, Lateral):
                # its rows depend on the parent row it correlates to: every load would
                # have to join it from (an alias of) the parent, which is not done yet
                raise self._error(
                    ArgumentError, f"its target {alias!r} reads a LATERAL subquery "
                    f"({sel!r}), which a relationship can't load from yet; use a "
                    "window function subquery (row_number() over partition_by) for "
                    "\"first N per parent\", or join the LATERAL in a select()")
            self.target_entity = alias
            self._from_columns = _columns_standing_for(mapper, sel)
        self.target_alias = sel
        return mapper

    def unalias(self, clause: ClauseElement | None) -> Any:
        """``clause`` with the target alias's columns replaced by its table's (the
        mapped columns they stand for, for a target over another selectable)."""
        alias = self.target_alias
        if alias is None or clause is None:
            return clause
        if self.target_entity is not None:
            standing = self._from_columns

            def over(element: object, **kw: object) -> Any:
                if isinstance(element, ColumnElement) and \
                        getattr(element, "table", None) is alias:
                    col = standing.get(deannotate(element))
                    if col is None:
                        return None
                    # (foreign()/remote() written on the alias's column are kept; a
                    # parent of the same table: the alias's column is the related row's,
                    # marked remote())
                    ann = annotations_of(element)
                    marks = {k: True for k in ("foreign", "remote") if ann.get(k)}
                    if col.table in self.parent_tables:
                        marks["remote"] = True
                    return annotate(col, marks) if marks else col
                return None

            return visitors.replacement_traverse(clause, {}, over)
        table = alias.element

        def fn(element: object, **kw: object) -> Any:
            if isinstance(element, ColumnElement) and getattr(element, "table", None) is alias:
                return table.c[element.key]
            return None

        return visitors.replacement_traverse(clause, {}, fn)

    def secondary(self, value: object) -> tuple[FromClause, frozenset[FromClause]]:
        """The ``secondary`` selectable, and the tables in it: a Table, or (read
        through only) an alias, subquery or join of tables; never a mapped class (its
        rows have their own life through that class)."""
        from .mapper import _mapper_or_none

        sec = self._secondary_by_name(value) if isinstance(value, str) else \
            self.evaluate(value, "secondary")
        if isinstance(sec, type) and _mapper_or_none(sec) is not None:
            raise self._error(
                ArgumentError, f"secondary={value!r} is the mapped class {sec.__name__}; the "
                "rows of a secondary table are written by the relationship itself, so pass "
                "a Table that no class maps (or map the association as a class with two "
                "many-to-one relationships)")
        if not isinstance(sec, FromClause):
            raise self._error(
                ArgumentError, f"secondary {value!r} is not a Table (or an alias, subquery "
                "or join of tables)")
        if isinstance(sec, Join):
            return sec, frozenset(
                t for t in visitors.iterate(sec) if isinstance(t, (Table, Alias)))
        return sec, frozenset((sec,))

    def _secondary_by_name(self, name: str) -> Any:
        """``secondary="name"``: a table of the metadata by its key ("links" or
        "schema.links"), or a class of the registry; never evaluated as an
        expression."""
        reg = self.registry
        table = _table_named(self.metadatas, name)
        if table is not None:
            return table
        found = reg.resolve_name(name) if reg is not None else None
        if found is not None:
            return found
        raise self._error(
            InvalidRequestError, f"secondary={name!r} names no table of the registry's "
            "MetaData; a string secondary is a table name (or 'schema.table'), not "
            "evaluated as an expression; pass the Table object or a lambda returning it")

    def columns(self, value: object, what: str) -> set[Any]:
        """``foreign_keys=``/``remote_side=``: the set of columns named (empty if None)."""
        if value is None:
            return set()
        value = self.evaluate(value, what)
        if not isinstance(value, (list, tuple, set, frozenset)):
            value = [value]
        return {self.column(v, what) for v in value}

    def column(self, value: object, what: str) -> Any:
        """One element of ``foreign_keys``/``remote_side``/``order_by``: a column
        expression (or a callable returning one).  A string is evaluated only when it is
        the whole argument (``foreign_keys="Address.user_id"``), never inside a list."""
        v = value if isinstance(value, str) else self.evaluate(value, what)
        if hasattr(v, "__clause_element__"):
            v = v.__clause_element__()
        if not isinstance(v, ColumnElement):
            hint = (" (a string is evaluated only as the whole argument: write "
                    f"{what}=\"[Class.attr, ...]\" or a list of Class.attr / table.c.col)"
                    if isinstance(value, str) else "")
            raise self._error(
                ArgumentError, f"Column expression expected for argument '{what}'; got "
                f"{value!r}{hint}")
        return self.unalias(v)

    def join(self, value: object, what: str) -> Any:
        """``primaryjoin``/``secondaryjoin`` evaluated: None or a SQL expression."""
        if value is None:
            return None
        clause = self.unalias(coerce_clause(self.evaluate(value, what)))
        if not isinstance(clause, ColumnElement):
            raise self._error(
                ArgumentError, f"{what} {clause!r} is not a SQL expression comparing columns "
                "of the two sides (e.g. Parent.id == Child.parent_id); a Python comparison "
                "of two plain values gives True or False, and a join of tables is given as "
                "secondary=")
        return clause

    def order_by(self, value: object) -> list[Any] | None:
        """``order_by=``: a list of column expressions, or None (also for False)."""
        if value is None or value is False:
            return None
        value = self.evaluate(value, "order_by")
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [self.column(o, "order_by") for o in value]

    def collection_class(self, value: object, uselist: bool) -> Any:
        """``collection_class=`` (a class, or a factory of empty collections); list
        for a collection without it, None for a scalar."""
        if value is None:
            return list if uselist else None
        if not uselist:
            raise self._error(ArgumentError, "collection_class given with uselist=False")
        if not isinstance(value, type) and callable(value):
            return _class_from_factory(value, self.where)
        return value


def _columns_standing_for(mapper: Mapper, sel: Any) -> dict[Any, Any]:
    """{column of ``sel``: the column of ``mapper``'s tables it selects}, for the
    columns of ``sel`` itself that stand for mapped ones (a subquery's, a LATERAL's;
    a join's columns are its tables' own)."""
    out: dict[Any, Any] = {}
    for table in mapper.tables:
        for col in table.columns:
            found = sel.corresponding_column(col)
            if found is not None and getattr(found, "table", None) is sel and found not in out:
                out[found] = col
    return out


def _table_named(metadatas: list[Any], name: str) -> Any:
    """The table ``name`` ("links", or "schema.links") of the first MetaData holding
    it; an unqualified name is also looked up in a MetaData's default schema."""
    for md in metadatas:
        if name in md.tables:
            return md.tables[name]
        if md.schema is not None and f"{md.schema}.{name}" in md.tables:
            return md.tables[f"{md.schema}.{name}"]
    return None


class _Namespace(dict[str, Any]):
    """Names for evaluating string arguments: mapped classes, table names, schema
    names (``myschema.links.c.id``) and module paths (``myapp.models.Address``)."""

    def __init__(self, names: dict[str, Any], reg: Any, metadatas: list[Any]) -> None:
        super().__init__(names)
        self.reg = reg
        self.metadatas = metadatas

    def __missing__(self, key: str) -> Any:
        if self.reg is not None:
            found = self.reg.resolve_name(key)
            if found is not None:
                return found
        table = _table_named(self.metadatas, key)
        if table is not None:
            return table
        if any(t.schema == key for md in self.metadatas for t in md.tables.values()):
            return _SchemaPath(key, self.metadatas)
        if self.reg is not None and self.reg._classes_at_path([key])[1]:
            return _ModulePath([key], self.reg)
        raise NameError(key)


class _SchemaPath:
    """A schema name in a string argument: its attributes are the schema's tables."""

    def __init__(self, schema: str, metadatas: list[Any]) -> None:
        self._schema = schema
        self._metadatas = metadatas

    def __getattr__(self, name: str) -> Any:
        table = _table_named(self._metadatas, f"{self._schema}.{name}")
        if table is None:
            raise NameError(f"{self._schema}.{name}")
        return table


class _ModulePath:
    """A (partial) module path in a string argument (``myapp.models``): its attributes
    are the mapped classes of that module, or a longer module path."""

    def __init__(self, parts: list[str], reg: Any) -> None:
        self._parts = parts
        self._reg = reg

    def __getattr__(self, name: str) -> Any:
        parts = [*self._parts, name]
        found, is_module = self._reg._classes_at_path(parts)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidRequestError(
                f"Multiple classes found for path {'.'.join(parts)!r} in the registry; "
                "use a longer module-qualified path")
        if is_module:
            return _ModulePath(parts, self._reg)
        raise NameError(".".join(parts))


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
