"""Loading is identity-map aware."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String, text

from datamapper import inspect, joinedload, select


def test_query_returns_same_object_for_same_row(session, User):
    session.add(User(id=1, name="ed"))
    session.commit()
    a = session.query(User).filter_by(id=1).one()
    b = session.query(User).filter(User.name == "ed").one()
    assert a is b


def test_query_keeps_unflushed_changes_of_loaded_object(make_session, User):
    s = make_session(autoflush=False)
    s.add(User(id=1, name="ed"))
    s.commit()
    u = s.get(User, 1)
    u.name = "changed"
    got = s.query(User).filter_by(id=1).one()
    assert got is u
    assert got.name == "changed"
    assert u in s.dirty


def test_query_does_not_overwrite_loaded_state_with_row(engine, make_session, User):
    s = make_session(expire_on_commit=False)
    u = User(id=1, name="ed")
    s.add(u)
    s.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'other' WHERE id = 1"))
    got = s.query(User).all()
    assert got == [u]
    assert u.name == "ed"


def test_populate_existing_overwrites_loaded_state(engine, make_session, User):
    s = make_session(expire_on_commit=False, autoflush=False)
    u = User(id=1, name="ed")
    s.add(u)
    s.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'other' WHERE id = 1"))
    u.note = "unflushed"
    got = s.query(User).populate_existing().filter_by(id=1).one()
    assert got is u
    assert u.name == "other"
    assert u.note is None
    assert not s.is_modified(u)


def test_query_populates_expired_object(engine, session, User, sql_log):
    u = User(id=1, name="ed")
    session.add(u)
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'new' WHERE id = 1"))
    assert session.query(User).one() is u
    sql_log.clear()
    assert u.name == "new"
    assert sql_log.statements == []


def test_loaded_objects_are_persistent_and_clean(session, User):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    session.expunge_all()
    objs = session.query(User).all()
    assert all(inspect(o).persistent for o in objs)
    assert len(session.dirty) == 0
    assert len(session.identity_map) == 2
    assert not any(inspect(o).modified for o in objs)


def test_attribute_name_different_from_column_name(Base, engine, make_session, read_rows, sql_log):
    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column("person_name", String(50))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Person(id=1, name="ed"))
    s.commit()
    assert read_rows(Person.__table__) == [(1, "ed")]
    sql_log.clear()
    got = s.scalars(select(Person).where(Person.name == "ed")).one()
    assert got.name == "ed"
    assert "person_name" in sql_log.matching("SELECT")[0]
    assert s.query(Person).filter_by(name="ed").one() is got


def test_order_by_string_resolves_attribute_and_column_names(Base, engine, make_session):
    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column("person_name", String(50))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Person(id=1, name="b"), Person(id=2, name="a"), Person(id=3, name="c")])
    s.commit()
    assert [p.id for p in s.query(Person).order_by("name")] == [2, 1, 3]
    assert [p.id for p in s.query(Person).order_by("person_name")] == [2, 1, 3]


@pytest.fixture
def two_users_with_addresses(engine, make_session, models):
    User, Address = models
    s = make_session(autoflush=False)
    s.add_all([User(id=1, name="ed", addresses=[Address(id=1, email="ed@a")]),
               User(id=2, name="jo")])
    s.commit()
    return s, User, Address


@pytest.mark.parametrize("how", ["query", "select", "get"])
def test_populate_existing_discards_unflushed_relationship_changes(
        two_users_with_addresses, sql_log, how):
    s, User, Address = two_users_with_addresses
    ed, jo = s.get(User, 1), s.get(User, 2)
    addr = ed.addresses[0]
    new = Address(id=2, email="new@a")
    ed.addresses.append(new)  # one-to-many change
    addr.user = jo  # many-to-one change (and the backref moves it out of ed.addresses)
    assert ed in s.dirty and addr in s.dirty
    if how == "query":
        s.query(User).populate_existing().all()
        s.query(Address).populate_existing().all()
    elif how == "select":
        s.scalars(select(User).execution_options(populate_existing=True)).all()
        s.scalars(select(Address).execution_options(populate_existing=True)).all()
    else:
        s.get(User, 1, populate_existing=True)
        s.get(User, 2, populate_existing=True)
        s.get(Address, 1, populate_existing=True)
    assert ed not in s.dirty and jo not in s.dirty and addr not in s.dirty
    sql_log.clear()
    assert ed.addresses == [addr] and addr.user is ed and jo.addresses == []
    assert sql_log.matching("SELECT")  # the relationships loaded again
    s.flush()
    # only the new Address (still pending in the session) is written, to nobody
    assert [st.split()[0] for st in sql_log.statements if not st.startswith("SELECT")] \
        == ["INSERT"]


def test_populate_existing_lazy_reload_keeps_children_eager_reload_overwrites(
        two_users_with_addresses):
    s, User, Address = two_users_with_addresses
    ed = s.get(User, 1)
    ed.addresses[0].email = "changed"
    s.query(User).populate_existing().all()
    # the collection loads again lazily: its members come from the identity map as is
    assert ed.addresses[0].email == "changed"
    s.query(User).options(joinedload(User.addresses)).populate_existing().all()
    assert ed.addresses[0].email == "ed@a"
    assert not s.dirty


def test_query_with_a_join_returns_each_object_once(two_users_with_addresses, sql_log):
    # the SELECT has a row per address; the Query gives each user once, in row order
    s, User, Address = two_users_with_addresses
    s.add_all([Address(id=2, email="ed2@a", user_id=1), Address(id=3, email="jo@a", user_id=2)])
    s.commit()
    sql_log.clear()
    q = s.query(User).join(User.addresses).order_by(User.id, Address.id)
    assert [u.id for u in q.all()] == [1, 2]
    assert len(s.execute(q.statement).all()) == 3  # select(): rows as the database sent
    assert [(u.id, n) for u, n in s.query(User, User.name).join(User.addresses)
            .order_by(User.id)] == [(1, "ed"), (2, "jo")]
    # rows that differ in a column stay
    assert len(s.query(User, Address.email).join(User.addresses).all()) == 3
    plain = s.query(User).join(User.addresses)
    assert sorted(u.id for u in plain.union_all(plain)) == [1, 2]
    assert len(s.query(User.id).join(User.addresses).all()) == 3  # columns only: no uniquing


def test_query_joined_through_a_criterion_returns_each_object_once(
        two_users_with_addresses):
    """filter(User.id == Address.user_id) is a join written in WHERE: the Query gives
    each user once, as with join(), and keeps rows that differ in a column."""
    s, User, Address = two_users_with_addresses
    s.add_all([Address(id=2, email="ed2@a", user_id=1), Address(id=3, email="jo@a", user_id=2)])
    s.commit()
    q = s.query(User).filter(User.id == Address.user_id).order_by(User.id)
    assert [u.id for u in q.all()] == [1, 2]
    assert len(s.execute(q.statement).all()) == 3
    assert len(s.query(User, Address.email).filter(User.id == Address.user_id).all()) == 3
    assert len(s.query(User.id).filter(User.id == Address.user_id).all()) == 3
    assert [u.id for u in s.query(User).filter(User.id == 1).all()] == [1]


def test_joined_query_keeps_rows_holding_an_unhashable_value(two_users_with_addresses):
    s, User, Address = two_users_with_addresses
    s.add(Address(id=2, email="ed2@a", user_id=1))
    s.commit()

    class AsList(sa.types.TypeDecorator):
        impl = sa.Integer
        cache_ok = True

        def process_result_value(self, value, dialect):
            return [value]

    rows = s.query(User, sa.type_coerce(User.id, AsList).label("ids")) \
        .join(User.addresses).order_by(User.id).all()
    assert [(u.id, ids) for u, ids in rows] == [(1, [1]), (1, [1])]


@pytest.mark.parametrize("how", ["query", "select", "get"])
def test_populate_existing_reloads_loaded_columns_the_query_did_not_read(
        engine, make_session, how):
    """A deferred column and a joined subclass's column, loaded before: the query with
    populate_existing does not read them, and they must not keep the old value (they
    load again on access), as the columns it reads do not."""
    from datamapper import declarative_base, deferred

    Base = declarative_base()

    class Item(Base):
        __tablename__ = "pe_items"
        id = Column(Integer, primary_key=True)
        kind = Column(String(10))
        name = Column(String(20))
        note = deferred(Column(String(20)))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "item"}

    class Book(Item):
        __tablename__ = "pe_books"
        id = Column(Integer, sa.ForeignKey("pe_items.id"), primary_key=True)
        title = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "book"}

    Base.metadata.create_all(engine)
    s = make_session(expire_on_commit=False)
    s.add(Book(id=1, name="n", note="old", title="old"))
    s.commit()
    b = s.get(Item, 1)
    assert (b.note, b.title) == ("old", "old")
    conn = s.connection()  # the rows change behind the loaded object's back
    conn.execute(text("UPDATE pe_items SET name = 'new', note = 'new' WHERE id = 1"))
    conn.execute(text("UPDATE pe_books SET title = 'new' WHERE id = 1"))
    if how == "query":
        got = s.query(Item).populate_existing().one()
    elif how == "select":
        got = s.scalars(sa.select(Item).execution_options(populate_existing=True)).one()
    else:
        got = s.get(Item, 1, populate_existing=True)
    assert got is b
    assert (b.name, b.note, b.title) == ("new", "new", "new")
    assert not s.dirty


@pytest.mark.parametrize("mapped_to", ["join", "select"])
def test_query_of_a_class_mapped_to_a_join_returns_each_object_once(
        metadata, engine, make_session, mapped_to):
    # the primary key is one table's: a user with two addresses is two rows of the join
    # but one object, listed once by a legacy Query (select() returns every row)
    from datamapper import registry

    reg = registry(metadata=metadata)
    users = sa.Table("mj_users", metadata, Column("id", Integer, primary_key=True),
                     Column("name", String(20)))
    addresses = sa.Table("mj_addresses", metadata, Column("id", Integer, primary_key=True),
                         Column("user_id", sa.ForeignKey("mj_users.id")))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(users.insert(), [{"id": 7, "name": "ann"}, {"id": 8, "name": "bob"}])
        conn.execute(addresses.insert(), [{"id": 1, "user_id": 7}, {"id": 2, "user_id": 8},
                                          {"id": 3, "user_id": 8}])
    joined = sa.join(users, addresses, users.c.id == addresses.c.user_id)
    target = joined if mapped_to == "join" else sa.select(
        users.c.id, users.c.name, addresses.c.id.label("add_id")).select_from(joined).subquery()

    class UserWithAddress:
        pass

    pk = users.c.id if mapped_to == "join" else target.c.id
    reg.map_imperatively(UserWithAddress, target, primary_key=[pk],
                         exclude_properties=[addresses.c.id] if mapped_to == "join" else [])
    s = make_session()
    got = s.query(UserWithAddress).order_by(pk).all()
    assert [u.id for u in got] == [7, 8]
    assert len(s.scalars(select(UserWithAddress)).all()) == 3
