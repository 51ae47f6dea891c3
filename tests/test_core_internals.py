"""datamapper._core (a package) is the one place that reads SQLAlchemy Core's private internals.

Two kinds of test:

- a static check that no other module of the package reads a private attribute
  that SQLAlchemy defines (and datamapper does not), or imports a Core module that
  is not part of Core's documented API;
- each function of ``_core`` run against real Core objects of the installed
  SQLAlchemy, so that an upgrade that moves an internal fails here, by name.
  CI runs this file on SQLAlchemy 2.0 and on 2.1 (``.ci/run``).
"""

from __future__ import annotations

import ast
import datetime
import enum
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.exc import StatementError

import datamapper
from datamapper import _core

PACKAGE = Path(datamapper.__file__).parent
SQLALCHEMY = Path(sa.__file__).parent

# Core modules the package may import from outside _core: Core's documented API.
PUBLIC_CORE_MODULES = {
    "sqlalchemy", "sqlalchemy.exc", "sqlalchemy.engine", "sqlalchemy.sql",
    "sqlalchemy.sql.expression", "sqlalchemy.sql.elements", "sqlalchemy.sql.selectable",
    "sqlalchemy.sql.schema", "sqlalchemy.sql.sqltypes", "sqlalchemy.sql.functions",
    "sqlalchemy.sql.operators", "sqlalchemy.sql.visitors", "sqlalchemy.sql.util",
    "sqlalchemy.sql.base", "sqlalchemy.sql.dml", "sqlalchemy.sql.type_api",
    "sqlalchemy.types", "sqlalchemy.schema", "sqlalchemy.util", "sqlalchemy.event",
    "sqlalchemy.inspection", "sqlalchemy.pool", "sqlalchemy.dialects",
    "sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.mysql",
    "sqlalchemy.dialects.sqlite", "sqlalchemy.engine.url", "sqlalchemy.engine.interfaces",
    "sqlalchemy.engine.base", "sqlalchemy.engine.cursor", "sqlalchemy.engine.result",
    "sqlalchemy.engine.row", "sqlalchemy.ext.compiler", "sqlalchemy.sql.compiler",
    "sqlalchemy.sql.roles", "sqlalchemy.sql.annotation", "sqlalchemy.sql.traversals",
    "sqlalchemy.sql.cache_key",
}
# names from those modules that are not documented API: only _core imports them
PRIVATE_CORE_NAMES = {
    "CursorFetchStrategy", "BindTyping", "SimpleResultMetaData", "result_tuple",
    "coercions", "roles", "CompileState", "SelectState", "InsertDMLState", "UpdateDMLState",
    "DeleteDMLState",
}


# underscore names that are documented public API (Row._mapping, sys._getframe ...)
DOCUMENTED_UNDERSCORE_NAMES = {"_mapping", "_asdict", "_fields", "_t", "_tuple", "_getframe",
                               "_replace", "_make"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_names(tree: ast.AST) -> set[str]:
    """Private names a module defines: methods and class attributes, ``x.name = ...``
    assignments, ``__slots__`` entries, ``setattr(x, "name", ...)``."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute):
                    out.add(t.attr)
                elif isinstance(t, ast.Name):
                    out.add(t.id)
                    if t.id == "__slots__" and node.value is not None:
                        out.update(e.value for e in ast.walk(node.value)
                                   if isinstance(e, ast.Constant) and isinstance(e.value, str))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "setattr" and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant)):
            out.add(str(node.args[1].value))
    return {n for n in out if _private(n)}


def _reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every private attribute read: ``x._name`` (not on self/cls)
    and ``getattr``/``hasattr(x, "_name")``."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls", "super"):
                continue
            out.append((node.lineno, node.attr))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str) and _private(node.args[1].value)):
            out.append((node.lineno, node.args[1].value))
    return out


def _in_core(path: Path) -> bool:
    """Whether ``path`` is part of datamapper._core (the package's modules)."""
    return path.relative_to(PACKAGE).parts[0] == "_core"


def _parse_tree(root: Path) -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(), str(p)) for p in sorted(root.rglob("*.py"))}


def test_no_module_but_core_reads_sqlalchemy_private_attributes() -> None:
    ours = {p: t for p, t in _parse_tree(PACKAGE).items() if not _in_core(p)}
    ours_defined: set[str] = set()
    for tree in ours.values():
        ours_defined |= _defined_names(tree)
    reads = [(path, line, name) for path, tree in ours.items() for line, name in _reads(tree)]
    # names both define are datamapper's own attributes on datamapper's objects
    suspects = (
        {name for _path, _line, name in reads if not name.startswith(("_dm_", "_sa_"))}
        - ours_defined - DOCUMENTED_UNDERSCORE_NAMES
    )
    # a Core module can define a suspect only if its text holds the name: parse
    # just those modules (parsing all of SQLAlchemy took most of this test's time)
    core_defined: set[str] = set()
    for path in sorted(SQLALCHEMY.rglob("*.py")):
        text = path.read_text()
        if any(name in text for name in suspects):
            core_defined |= _defined_names(ast.parse(text, str(path)))
    core_only = core_defined & suspects
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {name}"
        for path, line, name in reads
        if name in core_only
    ]
    assert not bad, ("read SQLAlchemy Core's private attributes only in datamapper/_core/ "
                     "(add a named function there):\n" + "\n".join(bad))


def test_no_module_but_core_imports_undocumented_core_names() -> None:
    bad = []
    for path, tree in _parse_tree(PACKAGE).items():
        if _in_core(path):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                mod = node.module or ""
                names = {a.name for a in node.names}
                if mod not in PUBLIC_CORE_MODULES or names & PRIVATE_CORE_NAMES:
                    bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                               f"from {mod} import {', '.join(sorted(names))}")
    assert not bad, "import these through datamapper._core:\n" + "\n".join(bad)


# -- each function against real Core objects ---------------------------------------------------

class Mood(enum.Enum):
    happy = 1
    sad = 2


@pytest.fixture
def tables() -> tuple[MetaData, Table, Table]:
    md = MetaData()
    users = Table("users", md, Column("id", Integer, primary_key=True),
                  Column("name", String(20)), Column("seen", sa.DateTime))
    addresses = Table("addresses", md, Column("id", Integer, primary_key=True),
                      Column("user_id", Integer, sa.ForeignKey("users.id")),
                      Column("email", String(50)))
    return md, users, addresses


@pytest.fixture
def conn(tables: tuple[MetaData, Table, Table]) -> sa.Connection:
    md, users, addresses = tables
    engine = sa.create_engine("sqlite://")
    md.create_all(engine)
    with engine.begin() as c:
        c.execute(users.insert(), [{"id": 1, "name": "ed", "seen": None},
                                   {"id": 2, "name": "jack", "seen": None}])
    c = engine.connect()
    yield c
    c.close()
    engine.dispose()


def test_plain_fetchall_reads_driver_tuples_and_closes(conn: sa.Connection, tables) -> None:
    _md, users, _a = tables
    result = conn.execute(select(users.c.id, users.c.name).order_by(users.c.id))
    rows = _core.plain_fetchall(result)
    assert rows == [(1, "ed"), (2, "jack")]
    assert type(rows[0]) is tuple
    assert result._soft_closed  # the cursor is released


def test_plain_fetchall_declines_columns_with_result_processors(conn, tables) -> None:
    _md, users, _a = tables
    result = conn.execute(select(users.c.seen))  # SQLite DATETIME parses strings
    assert _core.plain_fetchall(result) is None
    assert result.fetchall() == [(None,), (None,)]  # nothing was consumed


def test_positional_rows_keep_the_cached_result_metadata(conn, tables) -> None:
    """A statement equal to a cached one but built anew: Core re-keys the cached result
    metadata to the new statement's columns, unless told the rows are read by position."""
    _md, users, _a = tables

    def run(opts: object) -> sa.CursorResult:
        stmt = select(users.c.id, users.c.name).where(users.c.id == 1)  # a new object
        return conn.execute(stmt, execution_options=opts)  # type: ignore[arg-type]

    run({}).all()  # compiled and cached
    plain = run({})
    fast = run(_core.positional_rows(None))
    compiled = fast.context.compiled
    assert compiled is plain.context.compiled  # the same cache entry served both
    assert plain._metadata is not compiled._cached_metadata  # re-keyed (a copy)
    assert fast._metadata is compiled._cached_metadata  # kept as cached
    assert fast.all() == [(1, "ed")] and plain.all() == [(1, "ed")]
    assert _core.positional_rows({"yield_per": 5}) == {**_core.POSITIONAL_ROWS, "yield_per": 5}
    assert _core.positional_rows({}) is _core.POSITIONAL_ROWS


def test_bind_processors_of_a_compiled_insert(conn, tables) -> None:
    _md, users, _a = tables
    compiled = users.insert().compile(dialect=conn.dialect, column_keys=["id", "seen"])
    procs = _core.bind_processors(compiled)
    assert "seen" in procs and "id" not in procs
    assert procs["seen"](datetime.datetime(2020, 1, 2)).startswith("2020-01-02")


def test_is_float_bind_names_the_float_columns_processor(conn) -> None:
    md = MetaData()
    t = Table("floats", md, Column("id", Integer, primary_key=True), Column("x", sa.Float),
              Column("s", String(10)))
    procs = _core.bind_processors(t.insert().compile(dialect=conn.dialect,
                                                     column_keys=["x", "s"]))
    fn = procs["x"]  # (SQLite has no native decimal: Core converts to float)
    assert _core.is_float_bind(fn) and not _core.is_float_bind(len)
    value = 2.5
    assert fn(value) is value and fn(None) is None and fn(3) == 3.0


def test_insertmanyvalues_of_a_compiled_executemany_insert(conn, tables) -> None:
    _md, users, _a = tables
    compiled = users.insert().returning(users.c.id).compile(
        dialect=conn.dialect, column_keys=["id", "name"], for_executemany=True)
    imv = _core.insertmanyvalues(compiled)
    assert imv is not None and imv.single_values_expr in compiled.string
    assert _core.insertmanyvalues(select(users).compile(dialect=conn.dialect)) is None


def test_driver_select_compiles_runs_and_reports_errors(conn, tables) -> None:
    _md, users, _a = tables
    stmt = select(users.c.id, users.c.name).where(users.c.id == sa.bindparam("pk"))
    entry = _core.compile_driver_select(conn.dialect, stmt, {"pk": 1})
    assert entry is not None and entry.plain is None
    assert entry.parameters({"pk": 2}) == (2,)  # SQLite: positional
    trans = conn.begin()  # as a Session begins (no ``with`` block)
    assert _core.driver_select_ok(conn)
    assert _core.driver_fetchall(conn, entry, {"pk": 2}) == [(2, "jack")]
    bad = _core.compile_driver_select(conn.dialect, select(sa.text("nope FROM users")), {})
    assert bad is not None
    with pytest.raises(sa.exc.OperationalError, match="nope"):
        _core.driver_fetchall(conn, bad, {})
    trans.rollback()
    # a bind the caller does not give, an expanding IN: Core's execution is needed
    assert _core.compile_driver_select(conn.dialect, stmt, {}) is None
    expanding = select(users.c.id).where(users.c.id.in_(sa.bindparam("ids", expanding=True)))
    assert _core.compile_driver_select(conn.dialect, expanding, {"ids": [1]}) is None
    seen = select(users.c.id).where(users.c.seen == sa.bindparam("when"))
    dated = _core.compile_driver_select(conn.dialect, seen, {"when": None})
    assert dated is not None
    assert dated.parameters({"when": datetime.datetime(2020, 1, 2)})[0].startswith("2020-01-02")


def test_cached_select_rows_runs_core_cached_sql_with_each_statements_values(
        conn, tables) -> None:
    _md, users, _a = tables

    def by_id(pk: int) -> sa.Select:  # a new, equal statement per call
        return select(users.c.id, users.c.name).where(users.c.id == pk)

    trans = conn.begin()
    assert _core.cached_select_rows(conn, by_id(1)) is None  # not compiled yet
    assert _core.plain_fetchall(conn.execute(by_id(1))) == [(1, "ed")]  # cached by Core
    assert _core.cached_select_rows(conn, by_id(2)) == [(2, "jack")]
    assert _core.cached_select_rows(conn, by_id(1)) == [(1, "ed")]
    assert _core.cached_select_rows(conn, by_id(3)) == []
    # rows Core converts (SQLite DATETIME): never read from the driver
    seen = select(users.c.seen).where(users.c.id == 1)
    assert _core.plain_fetchall(conn.execute(seen)) is None
    assert _core.cached_select_rows(conn, select(users.c.seen).where(users.c.id == 1)) is None
    # an execution option other than compiled_cache, on the statement or the connection
    assert _core.cached_select_rows(conn, by_id(2).execution_options(x=1)) is None
    assert _core.cached_select_rows(conn.execution_options(logging_token="t"), by_id(2)) is None
    # a bound parameter given at execution time: Core's way
    named = select(users.c.name).where(users.c.id == sa.bindparam("pk"))
    conn.execute(named, {"pk": 1}).all()
    assert _core.cached_select_rows(conn, named) is None
    trans.rollback()
    # the compiled_cache option names the cache read; none at all: Core compiles each time
    md, _u, _a = tables
    cache: dict = {}
    uncached = sa.create_engine("sqlite://", query_cache_size=0)
    md.create_all(uncached)
    for engine, options in ((uncached, {}), (uncached, {"compiled_cache": cache})):
        with engine.connect() as c:
            c = c.execution_options(**options)
            c.begin()
            assert _core.plain_fetchall(c.execute(by_id(1))) == []
            assert (_core.cached_select_rows(c, by_id(2)) is None) == (not options)
            assert bool(cache) == bool(options)
    uncached.dispose()


def test_driver_select_ok_only_where_core_would_show_nothing_more(conn) -> None:
    assert not _core.driver_select_ok(conn)  # not in a transaction
    trans = conn.begin()
    assert _core.driver_select_ok(conn)
    savepoint = conn.begin_nested()
    assert _core.driver_select_ok(conn)
    savepoint.rollback()
    trans.rollback()
    with conn.begin():  # Core checks the transaction of a with block itself
        assert not _core.driver_select_ok(conn)
    with conn.engine.connect() as other:
        other.begin()
        assert not _core.driver_select_ok(other.execution_options(logging_token="x"))
    listened = sa.create_engine("sqlite://")
    sa.event.listen(listened, "before_cursor_execute", lambda *a: None)
    echoing = sa.create_engine("sqlite://", echo=True)
    for engine in (listened, echoing):
        with engine.connect() as c:
            c.begin()
            assert not _core.driver_select_ok(c)
        engine.dispose()


def test_report_dbapi_error_raises_a_statement_error(conn) -> None:
    with pytest.raises(StatementError, match="boom"):
        _core.report_dbapi_error(conn, ValueError("boom"), "SELECT 1", [{}])


def test_statement_parts_as_given(tables) -> None:
    _md, users, addresses = tables
    opt_stmt = select(users).execution_options(yield_per=5)
    assert _core.statement_execution_options(opt_stmt)["yield_per"] == 5
    assert _core.statement_options(opt_stmt) == ()
    stmt = (select(users.c.id).select_from(users)
            .join(addresses, users.c.id == addresses.c.user_id)
            .order_by(users.c.name).limit(3).with_for_update())
    assert _core.raw_columns(stmt) == (users.c.id,)
    assert _core.explicit_froms(stmt) == (users,)
    joins = _core.setup_joins(stmt)
    assert len(joins) == 1 and joins[0][0] is addresses
    assert _core.has_limit_or_offset(stmt)
    assert not _core.has_limit_or_offset(select(users))
    assert [str(c) for c in _core.order_by_clauses(stmt)] == ["users.name"]
    assert _core.for_update_arg(stmt) is not None
    assert _core.for_update_arg(select(users)) is None
    narrowed = stmt.with_only_columns(addresses.c.email)
    assert len(_core.memoized_select_entities(narrowed)) == 1
    plain = _core.with_joins(stmt, ())
    assert _core.setup_joins(plain) == () and len(_core.setup_joins(stmt)) == 1
    assert "JOIN" not in str(plain)
    copy = _core.generate(stmt)
    assert copy is not stmt and str(copy) == str(stmt)
    opt = datamapper.Load()
    with_opt = stmt.options(opt)
    assert _core.statement_options(_core.with_statement_options(with_opt, ())) == ()
    assert _core.statement_options(with_opt) == (opt,)
    froms = list(stmt.get_final_froms())
    rebuilt = _core.with_froms(stmt, froms)
    assert _core.setup_joins(rebuilt) == () and _core.explicit_froms(rebuilt) == tuple(froms)
    assert str(rebuilt) == str(stmt)
    from sqlalchemy.engine import IteratorResult
    from sqlalchemy.types import NullType

    meta = _core.result_metadata(["a", "b"], [(), ()], [id, None])
    rows = [(obj := object(), 1), (obj, 1), (object(), 1)]
    assert len(IteratorResult(meta, iter(rows)).unique().all()) == 2
    assert _core.type_may_be_null_type(NullType()) and not _core.type_may_be_null_type(
        Integer())

    class MySelect(sa.Select):  # type: ignore[type-arg]
        inherit_cache = True

    mine = _core.copy_generative(MySelect.__new__(MySelect), stmt)
    assert isinstance(mine, MySelect) and str(mine) == str(stmt)


def test_columns_and_annotations(tables) -> None:
    _md, users, _a = tables
    assert _core.from_objects(users.c.id) == (users,)
    assert _core.proxy_key(users.c.name) == "name"
    sub = select(users.c.name.label("who")).subquery()
    assert _core.proxy_key(sub.c.who) == "who"
    marked = _core.annotate(users, {"mark": 1})
    assert _core.annotations_of(marked)["mark"] == 1
    assert dict(_core.annotations_of(users)) == {}
    assert "mark" not in _core.annotations_of(_core.deannotate(marked))
    assert _core.is_cacheable_element(users.c.id)
    assert _core.is_selectable_iterable(users)
    assert _core.is_executable_on_connection(select(users))
    assert not _core.is_executable_on_connection("SELECT 1")
    alias = _core.anonymous_fromclause(users, flat=True)
    assert alias is not users and alias.original is users


def test_propagate_attrs_reach_the_statement(tables) -> None:
    _md, users, _a = tables
    col = _core.annotate(users.c.id, {"x": 1})
    _core.set_propagate_attrs(col, {"compile_state_plugin": "probe", "plugin_subject": None})
    stmt = select(col)
    assert (_core.propagate_attrs(stmt) or {}).get("compile_state_plugin") == "probe"


def test_cache_keys(tables) -> None:
    _md, users, _a = tables
    k1 = _core.generate_cache_key(select(users).where(users.c.id == 5))
    k2 = _core.generate_cache_key(select(users).where(users.c.id == 7))
    assert k1 is not None and k1.key == k2.key
    from sqlalchemy.sql.cache_key import anon_map

    assert (_core.gen_cache_key(users.c.id, anon_map(), [])
            == _core.gen_cache_key(users.c.id, anon_map(), []))


def test_mark_uncacheable_makes_the_statement_keyless(tables) -> None:
    _md, users, _a = tables
    from sqlalchemy.sql.base import ExecutableOption

    class Keyless(ExecutableOption):
        _is_has_cache_key = True

        def _gen_cache_key(self, anon_map, bindparams):
            _core.mark_uncacheable(anon_map)
            return ("keyless",)

    assert _core.generate_cache_key(select(users)) is not None
    assert _core.generate_cache_key(select(users).options(Keyless())) is None


def test_select_iterable_and_compiling_toplevel(tables) -> None:
    _md, users, _a = tables
    assert _core.select_iterable(users) == list(users.c)
    assert _core.select_iterable(users.c.id) == [users.c.id]
    seen: list[bool] = []

    class Probe(_core.SelectState):
        @classmethod
        def create_for_statement(cls, statement, compiler, **kw):
            seen.append(_core.compiling_toplevel(compiler))
            return _core.SelectState(statement, compiler, **kw)

    _core.install_select_plugin("dm_probe", Probe)
    col = _core.annotate(users.c.id, {})
    _core.set_propagate_attrs(col, {"compile_state_plugin": "dm_probe",
                                    "plugin_subject": None})
    inner = select(col)
    str(inner)
    assert seen == [True]
    str(select(inner.subquery()))  # the outer SELECT (marked too), then the inner one
    assert seen == [True, True, False]


def test_dml_parts(tables) -> None:
    _md, users, _a = tables
    upd = sa.update(users).where(users.c.id == 1).values(name="x")
    assert [str(w) for w in _core.dml_where(upd)] == ["users.id = :id_1"]
    pairs = _core.dml_values(upd)
    assert [k if isinstance(k, str) else k.key for k, _v in pairs] == ["name"]
    changed = _core.dml_with_values(upd, [("name", sa.literal("y"))])
    assert "name=?" in str(changed.compile(dialect=sa.dialects.sqlite.dialect()))
    assert _core.dml_values(upd) == pairs  # the original is unchanged
    ordered = sa.update(users).ordered_values((users.c.name, "z"))
    assert len(_core.dml_values(ordered)) == 1
    assert len(_core.dml_values(_core.dml_with_values(ordered, [(users.c.name, "w")]))) == 1
    ret = _core.dml_with_returning(sa.insert(users), [users.c.id])
    assert _core.dml_returning(ret) == (users.c.id,)
    assert _core.dml_returning(sa.insert(users)) == ()
    assert _core.dml_has_multi_values(sa.insert(users).values([{"id": 1}, {"id": 2}]))
    assert not _core.dml_has_multi_values(sa.insert(users).values(id=1))
    assert _core.dml_values_ordered(ordered) and not _core.dml_values_ordered(upd)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    assert _core.dml_post_values_clause(sa.insert(users)) is None
    upsert = sqlite_insert(users).on_conflict_do_nothing()
    assert _core.dml_post_values_clause(upsert) is not None


def test_dml_plugin_states_compile_as_core() -> None:
    # a DML plugin state is registered under Core's own verbs, as a subclass of its state
    from sqlalchemy.sql.base import CompileState

    for verb, cls in (("insert", _core.InsertDMLState), ("update", _core.UpdateDMLState),
                      ("delete", _core.DeleteDMLState)):
        assert CompileState.plugins[("default", verb)] is cls
        assert issubclass(CompileState.plugins[("datamapper", verb)], cls)


def test_schema_type_hooks() -> None:
    md = MetaData()
    col = Column("mood")
    assert _core.replace_null_type(col, sa.Enum(Mood))
    assert isinstance(col.type, sa.Enum)
    assert not _core.replace_null_type(col, Integer())  # it has a type now
    t = Table("t", md, Column("id", Integer, primary_key=True), col)
    col2 = Column("mood2", sa.Enum(Mood, create_constraint=True))
    other = sa.Enum(Mood, name="moodtype", create_constraint=True)
    col2.type = other
    _core.attach_type_to_column(other, col2)
    t.append_column(col2)
    assert isinstance(_core.creation_order(col2), int)
    assert _core.creation_order(object()) == 0


def test_inspection_registry_round_trip() -> None:
    class Probe:
        pass

    assert _core.inspection_registrar(Probe) is None
    _core.set_inspection_registrar(Probe, lambda obj: ("inspected", obj))
    try:
        p = Probe()
        assert sa.inspect(p) == ("inspected", p)
    finally:
        _core.set_inspection_registrar(Probe, None)
    assert _core.inspection_registrar(Probe) is None


def test_self_inspecting_class_is_no_literal_value() -> None:
    class Probe:
        pass

    class ProbeState:
        pass

    state = ProbeState()
    _core.set_inspection_registrar(Probe, lambda obj: state)
    _core.register_self_inspecting(ProbeState)
    try:
        assert sa.inspect(state) is state
        with pytest.raises(sa.exc.ArgumentError, match="SQL expression element expected"):
            sa.distinct(Probe())
    finally:
        _core.set_inspection_registrar(Probe, None)
        _core.set_inspection_registrar(ProbeState, None)


def test_event_registry_lists_core_event_classes() -> None:
    names = [c.__name__ for c in _core.event_classes_for("before_execute")]
    assert "ConnectionEvents" in names


def test_event_key_fn_is_the_listener_core_received() -> None:
    seen = []

    class Probe:
        pass

    # datamapper's bridge (event.py) hands Core's event key to _core.event_key_fn:
    # a listener given to sqlalchemy.event for a Session must be the one that fires
    engine = sa.create_engine("sqlite://")
    session = datamapper.Session(engine)

    def after_begin(sess, transaction, connection):
        seen.append(sess)

    sa.event.listen(session, "after_begin", after_begin)
    session.connection()
    session.close()
    engine.dispose()
    assert seen == [session]


def test_inspection_reregistration_probe_leaves_no_entry() -> None:
    before = dict(sa.inspection._registrars)
    allowed = _core.inspection_allows_reregistration()
    assert allowed is (tuple(int(x) for x in sa.__version__.split(".")[:2]) >= (2, 1))
    assert dict(sa.inspection._registrars) == before


def test_importing_sqlalchemy_orm_after_mapping_a_plain_class_works(tmp_path) -> None:
    """A process that maps a class imperatively with datamapper and then imports
    SQLAlchemy's ORM (a library using it) must not fail at that import."""
    import subprocess
    import sys

    code = (
        "import sqlalchemy as sa, datamapper as dm\n"
        "md = sa.MetaData()\n"
        "t = sa.Table('t', md, sa.Column('id', sa.Integer, primary_key=True))\n"
        "class P: pass\n"
        "dm.registry().map_imperatively(P, t)\n"
        "import sqlalchemy.orm\n"
        "assert dm.inspect(P).class_ is P\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
