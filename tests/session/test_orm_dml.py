"""ORM-enabled INSERT / UPDATE / DELETE through ``Session.execute()`` and the 1.x bulk
methods, on every backend: what the database sees and how the identity map follows."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, delete, insert, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite

from datamapper import DeclarativeBase, Mapped, Session, event, inspect, mapped_column
from datamapper.exc import InvalidRequestError, UnmappedClassError, UnmappedInstanceError


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "dml_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column("uname", String(30))  # attribute != column
        age: Mapped[int | None] = mapped_column(default=7)
        note: Mapped[str | None] = mapped_column(String(30))

    class Item(Base):
        __tablename__ = "dml_items"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int | None] = mapped_column(ForeignKey("dml_users.id"))
        label: Mapped[str] = mapped_column(String(30))

    metadata.create_all(engine)
    return User, Item


def _users(read_rows, User):
    return read_rows(User.__table__)


# -- bulk INSERT ---------------------------------------------------------------------------
def test_insert_with_a_list_of_dicts_is_one_batched_insert_by_attribute_names(
        models, engine, read_rows, sql_log):
    User, _ = models
    with Session(engine) as s:
        sql_log.clear()
        s.execute(insert(User), [{"name": f"u{i}", "age": i} for i in range(1, 6)])
        inserts = sql_log.matching("INSERT")
        assert len(inserts) == 1 and "uname" in inserts[0]
        assert len(s.identity_map) == 0  # no objects without RETURNING
        s.commit()
    assert [(r[1], r[2]) for r in _users(read_rows, User)] == [
        ("u1", 1), ("u2", 2), ("u3", 3), ("u4", 4), ("u5", 5)]


def test_bulk_insert_applies_column_defaults_and_batches_runs_of_equal_keys(
        models, engine, read_rows, sql_log):
    User, _ = models
    with Session(engine) as s:
        sql_log.clear()
        s.execute(insert(User), [
            {"name": "a"}, {"name": "b"},            # age from the column default
            {"name": "c", "age": 1, "note": "n"},    # another key set: another batch
            {"name": "d", "age": None},              # None left out: the default applies
        ])
        assert len(sql_log.matching("INSERT")) == 3
        s.commit()
    assert [(r[1], r[2], r[3]) for r in _users(read_rows, User)] == [
        ("a", 7, None), ("b", 7, None), ("c", 1, "n"), ("d", 7, None)]


def test_render_nulls_writes_none_as_null(models, engine, read_rows):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User).execution_options(render_nulls=True),
                  [{"name": "a", "age": None}])
        s.commit()
    assert [r[2] for r in _users(read_rows, User)] == [None]


def test_insert_returning_the_class_gives_persistent_objects_in_the_identity_map(
        models, engine, read_rows):
    User, _ = models
    with Session(engine) as s:
        users = s.scalars(insert(User).returning(User),
                          [{"name": "a", "age": 1}, {"name": "b", "age": 2}]).all()
        assert sorted((u.name, u.age) for u in users) == [("a", 1), ("b", 2)]
        for u in users:
            assert inspect(u).persistent and s.get(User, u.id) is u
        assert not s.dirty and not s.new
        s.commit()
    assert sorted(r[1] for r in _users(read_rows, User)) == ["a", "b"]


def test_insert_returning_columns_and_single_values_insert(models, engine):
    User, _ = models
    with Session(engine) as s:
        row = s.execute(insert(User).values(name="solo").returning(User.id, User.name)).one()
        assert row[1] == "solo"
        u = s.execute(insert(User).returning(User), {"name": "one"}).scalar_one()
        assert u.name == "one" and u.age == 7 and s.get(User, u.id) is u


def test_bulk_insert_refuses_unknown_names_before_any_sql(models, engine, sql_log):
    User, _ = models
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises(InvalidRequestError, match="'bogus'.*not mapped column"):
            s.execute(insert(User), [{"name": "a"}, {"name": "b", "bogus": 1}])
        assert sql_log.count == 0
        assert not s.in_transaction()


def test_insert_autoflushes_pending_objects_first(models, engine, read_rows):
    User, Item = models
    with Session(engine) as s:
        s.add(User(id=50, name="parent"))
        s.execute(insert(Item), [{"user_id": 50, "label": "x"}])
        s.commit()
    assert [r[1] for r in read_rows(Item.__table__)] == [50]


# -- bulk UPDATE by primary key ------------------------------------------------------------
def test_update_with_a_list_of_dicts_updates_by_primary_key_and_syncs_loaded_objects(
        models, engine, read_rows, sql_log):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": i, "name": f"u{i}"} for i in (1, 2, 3)])
        u1 = s.get(User, 1)
        sql_log.clear()
        s.execute(update(User), [{"id": 1, "name": "A"}, {"id": 3, "name": "C"}])
        updates = [e for e in sql_log.entries if e.statement.startswith("UPDATE")]
        assert len(updates) == 1 and updates[0].executemany
        assert u1.name == "A" and not s.dirty  # the loaded object took the new value
        s.commit()
    assert [r[1] for r in _users(read_rows, User)] == ["A", "u2", "C"]


def test_bulk_update_keeps_unflushed_changes_of_loaded_objects(models, engine, read_rows):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a", "age": 1}])
        u = s.get(User, 1)
        u.age = 40  # unflushed: autoflush writes it before the bulk UPDATE
        s.execute(update(User), [{"id": 1, "name": "b"}])
        assert (u.name, u.age) == ("b", 40)
        s.commit()
    assert _users(read_rows, User) == [(1, "b", 40, None)]


def test_bulk_update_without_the_primary_key_is_refused_before_sql(models, engine, sql_log,
                                                                    read_rows):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a"}])
        s.commit()
        u = s.get(User, 1)
        sql_log.clear()
        with pytest.raises(InvalidRequestError, match=r"dictionary #1 .*primary key.*\bid\b"):
            s.execute(update(User), [{"id": 1, "name": "x"}, {"name": "y"}])
        assert sql_log.count == 0
        assert u.name == "a" and not s.dirty
        s.commit()
    assert _users(read_rows, User) == [(1, "a", 7, None)]


# -- criteria UPDATE / DELETE with synchronize_session ------------------------------------
@pytest.mark.parametrize("sync", ["auto", "evaluate", "fetch", False])
def test_criteria_update_and_synchronize_session(models, engine, read_rows, sync):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": i, "name": f"u{i}", "age": i} for i in (1, 2, 3)])
        users = s.scalars(select(User).order_by(User.id)).all()
        s.execute(update(User).where(User.age >= 2).values(note="old")
                  .execution_options(synchronize_session=sync))
        expected = [None, "old", "old"] if sync is not False else [None, None, None]
        assert [u.note for u in users] == expected
        s.commit()
    assert [r[3] for r in _users(read_rows, User)] == [None, "old", "old"]


@pytest.mark.parametrize("sync", ["auto", "evaluate", "fetch", False])
def test_criteria_delete_and_synchronize_session(models, engine, read_rows, sync):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": i, "name": f"u{i}"} for i in (1, 2, 3)])
        u1, u2, u3 = s.scalars(select(User).order_by(User.id)).all()
        s.execute(delete(User).where(User.name.in_(["u1", "u3"])),
                  execution_options={"synchronize_session": sync})
        if sync is not False:
            assert inspect(u1).deleted and inspect(u3).deleted and u1 not in s
        assert u2 in s and inspect(u2).persistent
        s.commit()
    assert [r[1] for r in _users(read_rows, User)] == ["u2"]


def test_auto_falls_back_to_fetch_where_criteria_cannot_be_evaluated(models, engine):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "ab"}, {"id": 2, "name": "xy"}])
        a, x = s.scalars(select(User).order_by(User.id)).all()
        s.execute(update(User).where(User.name.like("a%")).values(age=99))
        assert (a.age, x.age) == (99, 7)


def test_evaluate_on_unevaluable_criteria_is_refused_before_sql(models, engine, sql_log,
                                                                 read_rows):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "ab"}])
        s.commit()
        u = s.get(User, 1)
        u.age = 5  # unflushed change: must stay unflushed
        sql_log.clear()
        with pytest.raises(InvalidRequestError, match="synchronize_session='fetch'"):
            s.execute(update(User).where(User.name.like("a%")).values(age=99)
                      .execution_options(synchronize_session="evaluate"))
        assert sql_log.count == 0
        assert u in s.dirty and u.age == 5
        with pytest.raises(InvalidRequestError, match="synchronize_session"):
            s.execute(delete(User).where(User.name.like("a%")),
                      execution_options={"synchronize_session": "bogus"})
        assert sql_log.count == 0
    assert _users(read_rows, User) == [(1, "ab", 7, None)]


def test_update_values_by_attribute_name_and_sql_expressions(models, engine, read_rows):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a", "age": 1}])
        u = s.get(User, 1)
        s.execute(update(User).where(User.id == 1).values(name="renamed", age=User.age + 10))
        assert u.name == "renamed" and u.age == 11  # expression expired, then reloaded
        s.commit()
    assert _users(read_rows, User) == [(1, "renamed", 11, None)]


def test_update_and_delete_fire_bulk_events(models, engine):
    User, _ = models
    seen = []
    with Session(engine) as s:
        event.listen(s, "after_bulk_update", lambda ctx: seen.append(("u", ctx.rowcount)))
        event.listen(s, "after_bulk_delete", lambda ctx: seen.append(("d", ctx.rowcount)))
        s.execute(insert(User), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        s.execute(update(User).where(User.id == 1).values(age=3))
        s.execute(delete(User).where(User.id == 2))
    assert seen == [("u", 1), ("d", 1)]


@pytest.mark.backends("sqlite", "postgresql")
def test_update_returning_the_class_refreshes_loaded_objects(models, engine):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a", "age": 1}, {"id": 2, "name": "b"}])
        u = s.get(User, 1)
        got = s.scalars(update(User).where(User.id == 1).values(age=User.age + 1)
                        .returning(User)).all()
        assert got == [u] and u.age == 2
        rows = s.execute(update(User).where(User.id == 2).values(note="z")
                         .returning(User.id, User.note)).all()
        assert [tuple(r) for r in rows] == [(2, "z")]


@pytest.mark.backends("sqlite", "postgresql", "mysql")
def test_delete_returning(models, engine, backend_name):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        u = s.get(User, 1)
        if not engine.dialect.delete_returning:
            pytest.skip(f"{backend_name} has no DELETE .. RETURNING")
        gone = s.scalars(delete(User).where(User.id == 1).returning(User)).all()
        assert gone == [u] and inspect(u).deleted
        ids = s.execute(delete(User).where(User.id == 2).returning(User.id)).scalars().all()
        assert ids == [2]


def test_bulk_delete_by_a_list_of_dicts_is_refused(models, engine, sql_log):
    User, _ = models
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises(InvalidRequestError, match="DELETE"):
            s.execute(delete(User), [{"id": 1}, {"id": 2}])
        assert sql_log.count == 0


# -- upserts ----------------------------------------------------------------------------------
def _upsert(backend_name, User, rows):
    if backend_name == "mysql":
        stmt = mysql.insert(User).values(rows)
        return stmt.on_duplicate_key_update(uname=stmt.inserted.uname)
    dialect_insert = postgresql.insert if backend_name == "postgresql" else sqlite.insert
    stmt = dialect_insert(User).values(rows)
    return stmt.on_conflict_do_update(index_elements=[User.id],
                                      set_={"uname": stmt.excluded.uname})


def test_upsert_built_on_a_mapped_class(models, engine, read_rows, backend_name):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a"}])
        s.execute(_upsert(backend_name, User, [{"id": 1, "uname": "A"}, {"id": 2, "uname": "b"}]))
        s.commit()
    assert [r[1] for r in _users(read_rows, User)] == ["A", "b"]


def test_upsert_do_nothing(models, engine, read_rows, backend_name):
    User, _ = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a"}])
        if backend_name == "mysql":
            stmt = mysql.insert(User).values(id=1, uname="z").prefix_with("IGNORE")
        else:
            di = postgresql.insert if backend_name == "postgresql" else sqlite.insert
            stmt = di(User).values(id=1, uname="z").on_conflict_do_nothing()
        s.execute(stmt)
        s.commit()
    assert [r[1] for r in _users(read_rows, User)] == ["a"]


def test_upsert_returning_objects_with_populate_existing(models, engine, backend_name):
    User, _ = models
    if not engine.dialect.insert_returning:
        pytest.skip(f"{backend_name}: no INSERT .. RETURNING")
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a"}])
        u = s.get(User, 1)
        stmt = _upsert(backend_name, User, [{"id": 1, "uname": "A"}, {"id": 2, "uname": "b"}])
        got = s.scalars(stmt.returning(User)).all()
        assert u in got and u.name == "a"  # loaded object left as it was
        got = s.scalars(stmt.returning(User), execution_options={"populate_existing": True}
                        ).all()
        assert u in got and u.name == "A"
        assert sorted(x.id for x in got) == [1, 2]


def test_upsert_returning_refreshes_loaded_objects_when_the_rows_are_fetched(
        models, engine, backend_name):
    User, _ = models
    if not engine.dialect.insert_returning:
        pytest.skip(f"{backend_name}: no INSERT .. RETURNING")
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a"}])
        u = s.get(User, 1)
        stmt = _upsert(backend_name, User, [{"id": 1, "uname": "A"}, {"id": 2, "uname": "b"}])
        result = s.execute(stmt.returning(User), execution_options={"populate_existing": True})
        assert u.name == "a" and len(s.identity_map) == 1  # nothing loaded yet
        got = result.scalars().all()
        assert u in got and u.name == "A" and len(s.identity_map) == 2


def test_upsert_with_a_list_of_dicts(models, engine, read_rows, backend_name):
    User, _ = models
    if backend_name == "mysql":
        stmt = mysql.insert(User)
        stmt = stmt.on_duplicate_key_update(uname=stmt.inserted.uname)
    else:
        di = postgresql.insert if backend_name == "postgresql" else sqlite.insert
        stmt = di(User)
        stmt = stmt.on_conflict_do_update(index_elements=[User.id],
                                          set_={"uname": stmt.excluded.uname})
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a"}])
        s.execute(stmt, [{"id": 1, "name": "A"}, {"id": 3, "name": "c"}])
        s.commit()
    assert [(r[0], r[1]) for r in _users(read_rows, User)] == [(1, "A"), (3, "c")]


# -- 1.x bulk methods ---------------------------------------------------------------------------
def test_bulk_insert_mappings_with_return_defaults(models, engine, read_rows):
    User, _ = models
    rows = [{"name": f"n{i}"} for i in range(5)]
    with Session(engine) as s:
        s.bulk_insert_mappings(User, rows, return_defaults=True)
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
        ids = [r["id"] for r in rows]
        s.commit()
    assert [(r[0], r[1]) for r in _users(read_rows, User)] == [
        (i, f"n{n}") for n, i in enumerate(ids)]


def test_bulk_insert_mappings_render_nulls(models, engine, read_rows):
    User, _ = models
    with Session(engine) as s:
        s.bulk_insert_mappings(User, [{"id": 1, "name": "a", "age": None}])
        s.bulk_insert_mappings(User, [{"id": 2, "name": "b", "age": None}], render_nulls=True)
        s.commit()
    assert [r[2] for r in _users(read_rows, User)] == [7, None]


def test_bulk_update_mappings(models, engine, read_rows):
    User, _ = models
    with Session(engine) as s:
        s.bulk_insert_mappings(User, [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        s.bulk_update_mappings(User, [{"id": 1, "name": "A", "age": 3}, {"id": 2, "age": 4}])
        with pytest.raises(InvalidRequestError, match="primary key"):
            s.bulk_update_mappings(User, [{"name": "no key"}])
        s.commit()
    assert [(r[1], r[2]) for r in _users(read_rows, User)] == [("A", 3), ("b", 4)]


def test_bulk_save_objects_inserts_and_updates_without_attaching(models, engine, read_rows):
    User, _ = models
    with Session(engine) as s:
        new = [User(name="x"), User(name="y", age=2)]
        s.bulk_save_objects(new, return_defaults=True)
        assert all(u.id is not None for u in new)
        assert not any(u in s for u in new)
        s.add(User(id=100, name="p"))
        s.commit()
        p = s.get(User, 100)
        p.name = "P"
        s.bulk_save_objects([p])
        s.commit()
    rows = _users(read_rows, User)
    assert sorted((r[1], r[2]) for r in rows) == [("P", 7), ("x", 7), ("y", 2)]


def test_bulk_methods_refuse_unmapped_classes(models, engine):
    class Plain:
        pass

    with Session(engine) as s:
        with pytest.raises(UnmappedClassError, match="'Plain' is not mapped"):
            s.bulk_insert_mappings(Plain, [{"a": 1}])
        with pytest.raises(UnmappedInstanceError, match="Plain"):
            s.bulk_save_objects([Plain()])


@pytest.mark.parametrize("how", ["bulk_insert_mappings", "execute", "bulk_save_objects"])
def test_bulk_insert_none_for_a_defaulted_column_under_a_prefixed_name_gets_the_default(
        metadata, engine, session, read_rows, how):
    """map_imperatively(column_prefix="_foo_"): a None given under the attribute name
    of a column with a default is left out of the INSERT, as under the column's own
    name, so that the default applies (it was written as NULL)."""
    import sqlalchemy as sa

    import datamapper

    t = sa.Table("bn_things", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("val", sa.String(20), default="dflt"))

    class Thing:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    datamapper.registry(metadata=metadata).map_imperatively(Thing, t, column_prefix="_foo_")
    metadata.create_all(engine)
    if how == "bulk_insert_mappings":
        session.bulk_insert_mappings(Thing, [{"_foo_id": 1, "_foo_val": None}])
    elif how == "execute":
        session.execute(insert(Thing), [{"_foo_id": 1, "_foo_val": None}])
    else:
        session.bulk_save_objects([Thing(_foo_id=1, _foo_val=None)])
    session.commit()
    assert read_rows("SELECT id, val FROM bn_things") == [(1, "dflt")]


# -- classes with SQL-expression attributes ---------------------------------------------------
def test_orm_dml_and_post_update_on_a_class_with_expression_attributes(
        metadata, engine, read_rows):
    from sqlalchemy import func

    from datamapper import column_property, query_expression, relationship, with_expression

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Node(Base):
        __tablename__ = "dml_expr_nodes"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        favorite_id: Mapped[int | None] = mapped_column(ForeignKey("dml_expr_nodes.id"))
        shout: Mapped[str] = column_property(func.upper(name))  # a SQL expression
        score: Mapped[int | None] = query_expression()
        favorite: Mapped[Node | None] = relationship(remote_side=[id], post_update=True)

    metadata.create_all(engine)
    with Session(engine) as s:
        a = Node(id=1, name="a")
        b = Node(id=2, name="b", favorite=a)
        a.favorite = b  # a cycle: the second row's key is written by a post-update
        s.add_all([a, b])
        s.commit()
        s.execute(update(Node).where(Node.name == "a").values(name="aa"))  # evaluate
        assert a.name == "aa"
        s.execute(update(Node).where(Node.id == 2).values(name="bb")
                  .execution_options(synchronize_session="fetch"))
        assert b.name == "bb"
        s.execute(update(Node), [{"id": 1, "name": "a3"}])  # bulk UPDATE by primary key
        s.execute(insert(Node), [{"id": 3, "name": "c"}])
        s.bulk_update_mappings(Node, [{"id": 3, "name": "c2"}])
        s.execute(delete(Node).where(Node.id == 3).execution_options(
            synchronize_session="fetch"))
        s.commit()
        got = s.scalars(select(Node).options(with_expression(Node.score, Node.id * 10))
                        .order_by(Node.id).execution_options(populate_existing=True)).all()
        assert [(n.name, n.shout, n.score) for n in got] == [("a3", "A3", 10), ("bb", "BB", 20)]
    assert sorted(read_rows(Node.__table__)) == [(1, "a3", 2), (2, "bb", 1)]
