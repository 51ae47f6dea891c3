"""A class mapped to a join of tables: one object is one row of each table; the
flush writes each table (INSERT in foreign-key order with the key copied, UPDATE
of the tables whose columns changed, DELETE in reverse order), queries read the
join."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, join, select
from sqlalchemy.exc import ArgumentError, InvalidRequestError

from datamapper import registry, relationship


def _tables(reg):
    users = Table("users", reg.metadata,
                  Column("id", Integer, primary_key=True),
                  Column("name", String(30)))
    addresses = Table("addresses", reg.metadata,
                      Column("id", Integer, primary_key=True),
                      Column("user_id", ForeignKey("users.id")),
                      Column("email", String(50)))
    notes = Table("notes", reg.metadata,
                  Column("id", Integer, primary_key=True),
                  Column("user_id", Integer),
                  Column("address_id", Integer),
                  Column("text", String(30)))
    return users, addresses, notes


class UserAddress:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class Note:
    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.fixture
def mapped(engine):
    reg = registry()
    users, addresses, notes = _tables(reg)
    # the join's key is (users.id, addresses.id): the ON clause equates users.id to
    # addresses.user_id, not to addresses' key
    reg.map_imperatively(UserAddress, join(users, addresses), properties={
        "id": [users.c.id, addresses.c.user_id],  # one value, written to both tables
        "address_id": addresses.c.id,
        "notes": relationship(
            Note, primaryjoin=(users.c.id == notes.c.user_id)
            & (addresses.c.id == notes.c.address_id),
            foreign_keys=[notes.c.user_id, notes.c.address_id],
            order_by=notes.c.id, backref="owner"),
    })
    reg.map_imperatively(Note, notes)
    reg.metadata.create_all(engine)
    yield users, addresses, notes
    reg.dispose()


def test_mapper_of_a_join_has_the_joined_tables_and_the_joins_key(mapped):
    users, addresses, _n = mapped
    from datamapper import inspect

    m = inspect(UserAddress)
    assert m.tables == [users, addresses]
    assert m.primary_key == (users.c.id, addresses.c.id)
    assert {"id", "name", "address_id", "email"} <= set(m.attrs.keys())


def test_insert_writes_the_referred_to_table_first_and_copies_the_key(
        mapped, make_session, read_rows, sql_log):
    users, addresses, _n = mapped
    s = make_session()
    ua = UserAddress(name="ed", email="ed@x")
    s.add(ua)
    s.commit()
    inserts = [st.split()[2] for st in sql_log.matching("INSERT")]
    assert inserts == ["users", "addresses"]
    assert read_rows(users) == [(ua.id, "ed")]
    assert read_rows(addresses) == [(ua.address_id, ua.id, "ed@x")]


def test_load_by_key_reads_the_join_and_keeps_identity(mapped, make_session, sql_log):
    s = make_session()
    ua = UserAddress(name="ed", email="ed@x")
    s.add(ua)
    s.commit()
    key = (ua.id, ua.address_id)
    s.close()
    sql_log.clear()
    got = s.get(UserAddress, key)
    assert (got.name, got.email) == ("ed", "ed@x")
    assert sql_log.count == 1 and "JOIN addresses" in sql_log.statements[0]
    assert s.get(UserAddress, key) is got
    assert s.scalars(select(UserAddress).where(UserAddress.email == "ed@x")).one() is got
    assert sql_log.count == 2


def test_query_filters_and_orders_on_columns_of_either_table(mapped, make_session):
    s = make_session()
    s.add_all([UserAddress(name=n, email=f"{n}@x") for n in ("c", "a", "b")])
    s.commit()
    s.close()
    got = s.scalars(select(UserAddress).where(UserAddress.email != "a@x")
                    .order_by(UserAddress.name)).all()
    assert [u.name for u in got] == ["b", "c"]


def test_update_writes_only_the_table_whose_column_changed(
        mapped, make_session, read_rows, sql_log):
    users, addresses, _n = mapped
    s = make_session()
    ua = UserAddress(name="ed", email="ed@x")
    s.add(ua)
    s.commit()
    sql_log.clear()
    ua.email = "new@x"
    s.commit()
    assert [st.split()[1] for st in sql_log.matching("UPDATE")] == ["addresses"]
    sql_log.clear()
    ua.name = "eddie"
    s.commit()
    assert [st.split()[1] for st in sql_log.matching("UPDATE")] == ["users"]
    assert read_rows(users) == [(ua.id, "eddie")]
    assert read_rows(addresses) == [(ua.address_id, ua.id, "new@x")]


def test_delete_removes_the_referring_row_first(mapped, make_session, read_rows, sql_log):
    users, addresses, _n = mapped
    s = make_session()
    s.add_all([UserAddress(name="a", email="a@x"), UserAddress(name="b", email="b@x")])
    s.commit()
    sql_log.clear()
    s.delete(s.scalars(select(UserAddress).where(UserAddress.name == "a")).one())
    s.commit()
    assert [st.split()[2] for st in sql_log.matching("DELETE")] == ["addresses", "users"]
    assert [r[1] for r in read_rows(users)] == ["b"]
    assert [r[2] for r in read_rows(addresses)] == ["b@x"]


def test_relationship_from_and_to_the_join_mapped_class(mapped, make_session, read_rows):
    _u, _a, notes = mapped
    s = make_session()
    ua = UserAddress(name="ed", email="ed@x", notes=[Note(text="n1"), Note(text="n2")])
    s.add(ua)
    s.commit()
    assert read_rows(notes) == [(1, ua.id, ua.address_id, "n1"),
                                (2, ua.id, ua.address_id, "n2")]
    s.close()
    loaded = s.scalars(select(UserAddress)).one()
    assert [n.text for n in loaded.notes] == ["n1", "n2"]
    assert s.get(Note, 2).owner is loaded


def test_separately_mapped_foreign_key_column_gets_the_referred_to_key(
        engine, make_session, read_rows):
    reg = registry()
    users, addresses, _n = _tables(reg)

    class Row:
        pass

    reg.map_imperatively(Row, join(users, addresses), properties={
        "user_id": users.c.id, "address_id": addresses.c.id,
        "address_user_id": addresses.c.user_id})
    reg.metadata.create_all(engine)
    try:
        s = make_session()
        r = Row()
        r.name, r.email = "ed", "ed@x"
        s.add(r)
        s.commit()
        assert read_rows(addresses) == [(r.address_id, r.user_id, "ed@x")]
        assert r.address_user_id == r.user_id
    finally:
        reg.dispose()


def test_same_column_name_in_two_tables_must_be_mapped_explicitly():
    reg = registry()
    users, addresses, _n = _tables(reg)

    class Row:
        pass

    with pytest.raises(InvalidRequestError, match=r"Can't map Row\.id: columns users\.id "
                       r"and addresses\.id .*both have the name 'id'.*properties="):
        reg.map_imperatively(Row, join(users, addresses))
    reg.dispose()


def test_join_without_a_primary_key_is_refused_with_the_fix():
    reg = registry()
    a = Table("a", reg.metadata, Column("x", Integer), Column("y", Integer))
    b = Table("b", reg.metadata, Column("ax", Integer, ForeignKey("a.x")),
              Column("z", Integer))

    class Row:
        pass

    with pytest.raises(ArgumentError, match=r"Can't map Row to a JOIN b: could not assemble any "
                       r"primary key columns .*pass primary_key="):
        reg.map_imperatively(Row, join(a, b))
    reg.dispose()


def test_primary_key_given_for_a_join_without_one(engine, make_session, read_rows):
    reg = registry()
    a = Table("ka", reg.metadata, Column("x", Integer), Column("y", String(10)))
    b = Table("kb", reg.metadata, Column("ax", Integer), Column("z", String(10)))

    class Row:
        pass

    reg.map_imperatively(Row, join(a, b, a.c.x == b.c.ax), primary_key=[a.c.x],
                         properties={"x": [a.c.x, b.c.ax]})
    reg.metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(a.insert(), [{"x": 1, "y": "p"}, {"x": 2, "y": "q"}])
            conn.execute(b.insert(), [{"ax": 1, "z": "r"}])
        s = make_session()
        (row,) = s.scalars(select(Row)).all()
        assert (row.x, row.y, row.z) == (1, "p", "r")
        assert s.get(Row, 1) is row
    finally:
        reg.dispose()


def test_aliased_join_mapped_class(mapped, make_session):
    from datamapper import aliased

    s = make_session()
    s.add_all([UserAddress(name="a", email="a@x"), UserAddress(name="b", email="b@x")])
    s.commit()
    s.close()
    for flat in (False, True):
        ua = aliased(UserAddress, flat=flat)
        got = s.scalars(select(ua).where(ua.email == "b@x")).all()
        assert [u.name for u in got] == ["b"]


def test_relationships_derived_from_foreign_keys_to_and_from_a_join_of_a_subquery(
        engine, make_session, sql_log):
    # a task row joined to an aggregate subquery of its messages: the relationships'
    # join conditions come from the foreign keys of the join's tables (was
    # AttributeError: 'Join' object has no attribute 'name', from the message of an
    # ArgumentError 'no foreign key links' raised for the join itself)
    from sqlalchemy import func, outerjoin

    from datamapper import joinedload, selectinload

    reg = registry()
    kinds = Table("kinds", reg.metadata, Column("id", Integer, primary_key=True),
                  Column("name", String(20)))
    tasks = Table("tasks", reg.metadata, Column("id", Integer, primary_key=True),
                  Column("title", String(20)),
                  Column("kind_id", ForeignKey("kinds.id"), nullable=False))
    msgs = Table("msgs", reg.metadata, Column("id", Integer, primary_key=True),
                 Column("task_id", ForeignKey("tasks.id")))
    counts = (select(tasks.c.id.label("task_id"), func.count(msgs.c.id).label("n_msgs"))
              .select_from(outerjoin(tasks, msgs)).group_by(tasks.c.id).subquery("counts"))

    class Kind:
        pass

    class Task:
        pass

    class Msg:
        pass

    reg.map_imperatively(Kind, kinds, properties={
        "tasks": relationship(Task, order_by=tasks.c.id, viewonly=True)})
    reg.map_imperatively(Task, join(tasks, counts, tasks.c.id == counts.c.task_id),
                         properties={"kind": relationship(Kind, lazy="joined"),
                                     "msgs": relationship(Msg, order_by=msgs.c.id)})
    reg.map_imperatively(Msg, msgs)
    reg.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(kinds.insert(), [{"id": 1, "name": "k1"}, {"id": 2, "name": "k2"}])
        conn.execute(tasks.insert(), [{"id": 1, "title": "t1", "kind_id": 2},
                                      {"id": 2, "title": "t2", "kind_id": 1}])
        conn.execute(msgs.insert(), [{"id": 1, "task_id": 1}, {"id": 2, "task_id": 1}])
    try:
        s = make_session()
        sql_log.clear()
        got = s.query(Task).order_by(Task.id).limit(10).offset(0).all()
        assert [(t.id, t.title, t.n_msgs, t.kind.name) for t in got] == \
            [(1, "t1", 2, "k2"), (2, "t2", 0, "k1")]
        assert len(sql_log.statements) == 1  # the many-to-one joined in
        assert [[m.id for m in t.msgs] for t in got] == [[1, 2], []]
        for opt in (joinedload, selectinload):
            s.expunge_all()
            kinds_ = s.query(Kind).options(opt(Kind.tasks)).order_by(Kind.id).all()
            assert [[(t.id, t.n_msgs) for t in k.tasks] for k in kinds_] == \
                [[(2, 0)], [(1, 2)]]
    finally:
        reg.dispose()
