"""Self-check of the shared fixtures in tests/conftest.py, on every backend.

If these fail, every other test result is suspect: fix the fixtures first.
"""

import pytest
import sqlalchemy as sa


def _users(metadata):
    return sa.Table(
        "selfcheck_users",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(50)),
    )


def test_backend_name_matches_engine_dialect(backend_name, engine, db_url, backend_url):
    assert (
        engine.dialect.name
        == {"sqlite": "sqlite", "postgresql": "postgresql", "mysql": "mysql"}[backend_name]
    )
    assert db_url == backend_url
    assert sa.make_url(db_url).get_backend_name() == engine.dialect.name


def test_core_insert_is_logged_and_read_back(engine, metadata, sql_log, read_rows):
    users = _users(metadata)
    metadata.create_all(engine)
    sql_log.clear()

    with engine.begin() as conn:
        conn.execute(users.insert(), [{"id": 2, "name": "b"}, {"id": 1, "name": "a"}])

    assert read_rows(users) == [(1, "a"), (2, "b")]
    assert read_rows(users, name="b") == [(2, "b")]
    assert read_rows("SELECT name FROM selfcheck_users WHERE id = :id", id=1) == [("a",)]
    # one executemany INSERT; no BEGIN (SQLite's is fixture-internal) and
    # nothing from read_rows
    assert sql_log.count == 1, sql_log
    assert sql_log.matching("insert") == sql_log.statements
    assert sql_log.entries[0].executemany is True
    sql_log.clear()
    assert sql_log.count == 0 and sql_log.statements == []


def test_read_rows_sees_only_committed_data(engine, metadata, read_rows):
    users = _users(metadata)
    metadata.create_all(engine)
    with engine.connect() as conn:
        trans = conn.begin()
        conn.execute(users.insert(), {"id": 1, "name": "uncommitted"})
        assert read_rows(users) == []
        trans.commit()
    assert read_rows(users) == [(1, "uncommitted")]


def test_savepoint_rollback_keeps_outer_work(engine, metadata, sql_log, read_rows):
    users = _users(metadata)
    metadata.create_all(engine)
    sql_log.clear()
    with engine.connect() as conn:
        outer = conn.begin()
        conn.execute(users.insert(), {"id": 1, "name": "outer"})
        nested = conn.begin_nested()
        conn.execute(users.insert(), {"id": 2, "name": "inner"})
        nested.rollback()
        conn.execute(users.insert(), {"id": 3, "name": "after"})
        outer.commit()
    assert read_rows(users) == [(1, "outer"), (3, "after")]
    assert len(sql_log.matching("SAVEPOINT")) == 1
    assert len(sql_log.matching("ROLLBACK TO SAVEPOINT")) == 1


def test_foreign_keys_are_enforced(engine, metadata):
    parent = sa.Table("selfcheck_parent", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "selfcheck_child",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey(parent.c.id), nullable=False),
    )
    metadata.create_all(engine)
    child = metadata.tables["selfcheck_child"]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(child.insert(), {"id": 1, "parent_id": 99})


def test_each_test_starts_with_an_empty_database(engine):
    # runs after the tests above created tables on the same per-run database
    assert sa.inspect(engine).get_table_names() == []


def test_same_table_name_with_other_types_after_cleanup(engine, metadata, read_rows):
    # selfcheck_users existed in earlier tests with (INTEGER, VARCHAR)
    t = sa.Table(
        "selfcheck_users",
        metadata,
        sa.Column("id", sa.String(10), primary_key=True),
        sa.Column("name", sa.Integer),
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), {"id": "x", "name": 5})
    assert read_rows(t) == [("x", 5)]


def test_engine_factory_shares_the_database(engine, engine_factory, metadata):
    users = _users(metadata)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(users.insert(), {"id": 1, "name": "a"})
    other = engine_factory()
    assert other is not engine
    with other.connect() as conn:
        assert conn.execute(sa.select(users.c.name)).scalars().all() == ["a"]


def test_listeners_added_in_a_test_stay_in_that_test(engine):
    # a listener added to `engine` must not leak into the next test's engine
    calls = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: calls.append(a[2]))
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert any("SELECT 1" in s for s in calls)


def test_no_leaked_listener_from_previous_test(engine, sql_log):
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 2")
    assert sql_log.statements == ["SELECT 2"]


@pytest.mark.sqlite_only
def test_sqlite_marker_selects_one_backend(backend_name):
    assert backend_name == "sqlite"


@pytest.mark.servers_only
def test_servers_marker_selects_servers(backend_name):
    assert backend_name in ("postgresql", "mysql")


# -- table reuse on the servers (tests/_support.py TableReuse) --------------------
# Each check plays two or more tests in one: ``_next_test`` does what the engine
# fixture does between two tests (the end-of-test reset, then the next test's
# start), on this test's own server database.


def _server_of(engine):
    import _support

    return next(s for s in _support.SERVERS if s.db_name == engine.url.database)


def _next_test(server):
    if not server.reuse.enabled:
        pytest.skip("table reuse is off (DATAMAPPER_TEST_REUSE_TABLES)")
    warnings, errors = server.reset()
    assert not warnings and not errors
    server.reuse.begin_test()


def _counted(metadata):
    return sa.Table(
        "selfcheck_counted",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(20)),
    )


def _counted_child(metadata):
    return sa.Table(
        "selfcheck_counted_child",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.ForeignKey("selfcheck_counted.id")),
    )


def _insert_names(engine, table, *names):
    with engine.begin() as conn:
        return [conn.execute(table.insert(), {"name": n}).inserted_primary_key[0] for n in names]


@pytest.mark.servers_only
def test_reused_tables_come_back_empty_with_ids_from_the_start(engine, read_rows):
    server = _server_of(engine)
    first = sa.MetaData()
    table = _counted(first)
    child = _counted_child(first)
    first.create_all(engine)
    assert _insert_names(engine, table, "a", "b") == [1, 2]
    with engine.begin() as conn:
        conn.execute(child.insert(), {"parent_id": 2})

    _next_test(server)
    reused = server.reuse.stats["reused"]
    second = sa.MetaData()
    table = _counted(second)
    child = _counted_child(second)
    second.create_all(engine)
    assert server.reuse.stats["reused"] == reused + 1  # kept, not created again
    assert read_rows(table) == [] and read_rows(child) == []
    assert _insert_names(engine, table, "c") == [1]
    assert read_rows(table) == [(1, "c")]


@pytest.mark.servers_only
def test_other_tables_of_the_same_name_are_created_anew(engine, read_rows):
    server = _server_of(engine)
    table = _counted(sa.MetaData())
    table.metadata.create_all(engine)
    _insert_names(engine, table, "a")

    _next_test(server)
    other = sa.MetaData()
    t = sa.Table(
        "selfcheck_counted",
        other,
        sa.Column("id", sa.String(10), primary_key=True),
        sa.Column("size", sa.Integer),
    )
    other.create_all(engine)
    assert sorted(c["name"] for c in sa.inspect(engine).get_columns("selfcheck_counted")) == [
        "id",
        "size",
    ]
    assert read_rows(t) == []


@pytest.mark.servers_only
def test_a_test_that_does_not_create_the_same_tables_sees_none(engine, engine_factory):
    server = _server_of(engine)
    table = _counted(sa.MetaData())
    table.metadata.create_all(engine)
    _insert_names(engine, table, "a")

    _next_test(server)  # kept: the next test may create the same tables
    # ... but it first looks, through a connection of its own
    assert sa.inspect(engine_factory()).get_table_names() == []


@pytest.mark.servers_only
def test_tables_a_test_altered_are_not_kept(engine, read_rows):
    server = _server_of(engine)
    metadata = sa.MetaData()
    table = _counted(metadata)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE selfcheck_counted ADD COLUMN extra INTEGER")

    _next_test(server)
    again = sa.MetaData()
    table = _counted(again)
    again.create_all(engine)
    columns = [c["name"] for c in sa.inspect(engine).get_columns("selfcheck_counted")]
    assert columns == ["id", "name"]
    assert read_rows(table) == []


@pytest.mark.servers_only
def test_tables_of_a_second_create_all_are_not_kept(engine):
    server = _server_of(engine)
    first = sa.MetaData()
    _counted(first)
    first.create_all(engine)
    extra = sa.MetaData()
    sa.Table("selfcheck_extra", extra, sa.Column("id", sa.Integer, primary_key=True))
    extra.create_all(engine)

    _next_test(server)
    again = sa.MetaData()
    _counted(again)
    again.create_all(engine)
    assert sa.inspect(engine).get_table_names() == ["selfcheck_counted"]


def test_kept_tables_are_emptied_referencing_tables_first():
    from _support import _delete_order

    refs = {"child": ["parent"], "grandchild": ["child", "parent"], "parent": []}
    assert _delete_order(["parent", "child", "grandchild"], refs) == [
        "grandchild", "child", "parent"]
    assert _delete_order(["parent"], refs) == ["parent"]
    # references in a cycle: no order (PostgreSQL then TRUNCATEs them together)
    assert _delete_order(["a", "b"], {"a": ["b"], "b": ["a"]}) is None


def _cycle(metadata):
    a = sa.Table(
        "selfcheck_cycle_a",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("b_id", sa.ForeignKey("selfcheck_cycle_b.id", use_alter=True,
                                        name="fk_selfcheck_cycle_a_b")),
    )
    b = sa.Table(
        "selfcheck_cycle_b",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("a_id", sa.ForeignKey("selfcheck_cycle_a.id")),
        sa.Column("parent_id", sa.ForeignKey("selfcheck_cycle_b.id")),
    )
    return a, b


@pytest.mark.servers_only
def test_reused_tables_referencing_each_other_come_back_empty(engine, read_rows):
    server = _server_of(engine)
    a, b = _cycle(sa.MetaData())
    a.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(a.insert(), {"id": 1})
        conn.execute(b.insert(), [{"id": 1, "a_id": 1}, {"id": 2, "a_id": 1, "parent_id": 1}])
        conn.execute(a.update().values(b_id=2))

    _next_test(server)
    reused = server.reuse.stats["reused"]
    a, b = _cycle(sa.MetaData())
    a.metadata.create_all(engine)
    assert server.reuse.stats["reused"] == reused + 1  # kept, not created again
    assert read_rows(a) == [] and read_rows(b) == []
