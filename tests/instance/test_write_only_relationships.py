"""Write-only relationships (``lazy="write_only"``, ``WriteOnlyMapped``): the attribute
is a ``WriteOnlyCollection`` that never loads its members.  ``add``/``add_all``/
``remove`` are written by the next flush without any SELECT of the collection;
``select()``/``insert()``/``update()``/``delete()`` are statements the program runs,
filtered to the parent by a key value read when the statement runs."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, func, select

from datamapper import (
    Mapped,
    WriteOnlyCollection,
    WriteOnlyMapped,
    exc,
    mapped_column,
    relationship,
)


@pytest.fixture
def wo(Base, engine):
    """User 1-* Address (write-only, ordered by email, backref Address.user) and
    Order *-* Item (write-only through order_items)."""
    order_items = Table(
        "order_items", Base.metadata,
        Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
        Column("item_id", Integer, ForeignKey("items.id"), primary_key=True),
    )

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        addresses = relationship("Address", lazy="write_only", backref="user",
                                 order_by="Address.email")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        items = relationship("Item", secondary=order_items, lazy="write_only",
                             order_by="Item.id")

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    Base.metadata.create_all(engine)
    return User, Address, Order, Item, order_items


def _saved_user(s, User, Address, *emails):
    u = User(name="ed", addresses=[Address(email=e) for e in emails])
    s.add(u)
    s.commit()
    return u


def test_attribute_is_a_write_only_collection_that_refuses_iteration(wo, session):
    User, Address, *_ = wo
    u = _saved_user(session, User, Address, "a@x")
    assert isinstance(u.addresses, WriteOnlyCollection)
    assert u.addresses.instance is u
    with pytest.raises(TypeError, match="write-only collection User.addresses"):
        list(u.addresses)


def test_add_and_flush_emit_no_select_of_the_collection(wo, session, sql_log, read_rows):
    User, Address, *_ = wo
    u = _saved_user(session, User, Address, "a@x", "b@x")
    uid = u.id
    session.expire_all()
    sql_log.clear()
    u.addresses.add(Address(email="c@x"))
    u.addresses.add_all([Address(email="d@x"), Address(email="e@x")])
    session.flush()
    selects = sql_log.matching("SELECT")
    assert all("addresses" not in s.split("FROM", 1)[1] for s in selects), selects
    assert len(sql_log.matching("INSERT INTO addresses")) >= 1
    session.commit()
    assert read_rows(Address.__table__) == [
        (1, "a@x", uid), (2, "b@x", uid), (3, "c@x", uid), (4, "d@x", uid), (5, "e@x", uid)]


def test_remove_sets_foreign_key_null_without_loading(wo, session, sql_log, read_rows):
    User, Address, *_ = wo
    u = _saved_user(session, User, Address, "a@x", "b@x")
    a = session.get(Address, 1)
    sql_log.clear()
    u.addresses.remove(a)
    session.commit()
    assert not [s for s in sql_log.matching("SELECT") if "FROM addresses" in s]
    assert read_rows(Address.__table__) == [(1, "a@x", None), (2, "b@x", u.id)]


def test_select_filters_to_parent_and_orders(wo, session):
    User, Address, *_ = wo
    u = _saved_user(session, User, Address, "b@x", "a@x")
    other = _saved_user(session, User, Address, "c@x")
    assert [a.email for a in session.scalars(u.addresses.select())] == ["a@x", "b@x"]
    assert [a.email for a in session.scalars(other.addresses.select())] == ["c@x"]
    stmt = u.addresses.select().order_by(None).order_by(Address.email.desc())
    assert [a.email for a in session.scalars(stmt)] == ["b@x", "a@x"]
    n = session.scalar(select(func.count()).select_from(u.addresses.select().subquery()))
    assert n == 2


def test_select_built_while_parent_pending_sees_key_after_autoflush(wo, session):
    User, Address, *_ = wo
    u = User(name="new")
    u.addresses.add(Address(email="p@x"))
    session.add(u)
    stmt = u.addresses.select()  # parent has no key yet
    assert [a.email for a in session.scalars(stmt)] == ["p@x"]  # autoflush, then bound


def test_insert_statement_links_rows_to_parent(wo, session, read_rows):
    User, Address, *_ = wo
    u = User(name="x")
    session.add(u)
    stmt = u.addresses.insert()  # built while the parent has no key: bound when it runs
    session.flush()
    session.execute(stmt, [{"email": "e1"}, {"email": "e2"}])
    session.commit()
    assert read_rows(Address.__table__) == [(1, "e1", u.id), (2, "e2", u.id)]


def test_update_and_delete_statements_touch_only_members(wo, session, read_rows):
    User, Address, *_ = wo
    u = _saved_user(session, User, Address, "a", "b")
    other = _saved_user(session, User, Address, "c")
    session.execute(u.addresses.update().values(email=Address.email + "!"))
    session.execute(u.addresses.delete().where(Address.email == "b!"))
    session.commit()
    assert read_rows(Address.__table__) == [(1, "a!", u.id), (3, "c", other.id)]


def test_many_to_many_add_remove_and_select(wo, session, sql_log, read_rows):
    User, Address, Order, Item, order_items = wo
    o = Order(items=[Item(name="i1"), Item(name="i2")])
    session.add(o)
    session.commit()
    assert read_rows(order_items) == [(1, 1), (1, 2)]
    i1 = session.get(Item, 1)
    sql_log.clear()
    o.items.remove(i1)
    o.items.add(Item(name="i3"))
    session.commit()
    assert not [s for s in sql_log.matching("SELECT") if "order_items" in s]
    assert read_rows(order_items) == [(1, 2), (1, 3)]
    assert [i.name for i in session.scalars(o.items.select())] == ["i2", "i3"]
    with pytest.raises(exc.InvalidRequestError, match="many-to-many"):
        o.items.insert()


def test_backref_add_and_history(wo, session):
    from datamapper import attributes

    User, Address, *_ = wo
    u = User(name="t")
    a = Address(email="x")
    u.addresses.add(a)
    assert a.user is u
    assert attributes.get_history(u, "addresses") == ([a], [], [])
    a.user = None
    assert attributes.get_history(u, "addresses") == ([], [], [])


def test_assigning_a_list_to_a_persistent_collection_is_refused(wo, session, read_rows):
    User, Address, *_ = wo
    u = _saved_user(session, User, Address, "a")
    with pytest.raises(exc.InvalidRequestError, match="write-only"):
        u.addresses = [Address(email="b")]
    session.commit()
    assert read_rows(Address.__table__) == [(1, "a", u.id)]


def test_deleting_parent_needs_passive_deletes(wo, session, read_rows):
    User, Address, *_ = wo
    u = _saved_user(session, User, Address, "a")
    session.delete(u)
    with pytest.raises(exc.InvalidRequestError, match="passive_deletes"):
        session.flush()
    session.rollback()
    assert read_rows(User.__table__) == [(1, "ed")]


def test_passive_deletes_parent_delete_emits_no_select(Base, engine, session, sql_log,
                                                      read_rows):
    class A(Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)
        bs: WriteOnlyMapped["B"] = relationship(passive_deletes=True,
                                                cascade="all, delete-orphan")

    class B(Base):
        __tablename__ = "b"
        id: Mapped[int] = mapped_column(primary_key=True)
        a_id: Mapped[int | None] = mapped_column(ForeignKey("a.id", ondelete="CASCADE"))

    Base.metadata.create_all(engine)
    a = A(bs=[B(), B()])
    session.add(a)
    session.commit()
    assert A.bs.property.lazy == "write_only"
    session.delete(a)
    sql_log.clear()
    session.commit()
    assert not [s for s in sql_log.matching("SELECT") if "FROM b" in s]
    assert read_rows(A.__table__) == []


def test_write_only_many_to_one_is_refused(Base):
    from datamapper import clear_mappers, configure_mappers

    class P(Base):
        __tablename__ = "p"
        id = Column(Integer, primary_key=True)

    class C(Base):
        __tablename__ = "c"
        id = Column(Integer, primary_key=True)
        p_id = Column(ForeignKey("p.id"))
        p = relationship(P, lazy="write_only")

    try:
        with pytest.raises(exc.InvalidRequestError, match="C.p with lazy='write_only'"):
            configure_mappers()
    finally:
        clear_mappers()  # the broken mapping must not reach later tests


def test_merge_of_write_only_members_into_persistent_is_refused(wo, make_session, read_rows):
    User, Address, *_ = wo
    s = make_session()
    u = _saved_user(s, User, Address, "a")
    uid = u.id
    s.close()
    s = make_session()
    copy = User(id=uid, name="jane")
    copy.addresses.add(Address(email="b"))
    with pytest.raises(exc.InvalidRequestError, match="write-only"):
        s.merge(copy)
    assert list(s) == []  # nothing merged
    s.commit()
    assert read_rows(User.__table__) == [(uid, "ed")]
    assert [r[1] for r in read_rows(Address.__table__)] == ["a"]
    merged = s.merge(User(id=uid, name="jane"))  # without members: fine
    s.commit()
    assert merged.name == "jane"
    assert read_rows(User.__table__) == [(uid, "jane")]


def test_set_committed_value_on_a_write_only_relationship_is_refused(wo):
    from datamapper import attributes

    User, Address, *_ = wo
    with pytest.raises(exc.NoCollectionError, match=r"write-only relationship User\.addresses"):
        attributes.set_committed_value(User(), "addresses", [])
