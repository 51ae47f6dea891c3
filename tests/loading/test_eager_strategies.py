"""Relationships configured to load eagerly: lazy="joined", "selectin", "subquery" and
the 0.4 spellings lazy=False (joined), lazy=True (select), lazy=None (noload)."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import lazyload, relationship, select


def _models(Base, engine, make_session, lazy, backref_lazy="select", join_depth=None):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        addresses = relationship("Address", lazy=lazy, order_by="Address.id",
                                 back_populates="user")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))
        user = relationship("User", lazy=backref_lazy, back_populates="addresses")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([
        User(id=1, name="jack", addresses=[Address(id=1, email="j1"), Address(id=2, email="j2")]),
        User(id=2, name="ed", addresses=[Address(id=3, email="e1")]),
        User(id=3, name="fred"),
    ])
    s.commit()
    s.close()
    return User, Address


EXPECTED = {"jack": ["j1", "j2"], "ed": ["e1"], "fred": []}


def _emails(users):
    return {u.name: [a.email for a in u.addresses] for u in users}


@pytest.mark.parametrize(("lazy", "statements"), [
    ("joined", 1), (False, 1), ("selectin", 2), ("subquery", 2),
])
def test_configured_eager_strategy_loads_with_the_query(Base, engine, make_session, sql_log,
                                                        lazy, statements):
    User, _Address = _models(Base, engine, make_session, lazy)
    s = make_session()
    sql_log.clear()
    users = s.query(User).order_by(User.id).all()
    assert sql_log.count == statements
    assert [u.name for u in users] == ["jack", "ed", "fred"]
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 0


@pytest.mark.parametrize("lazy", ["joined", "selectin"])
def test_configured_eager_strategy_in_orm_select_and_get(Base, engine, make_session, sql_log,
                                                         lazy):
    User, _Address = _models(Base, engine, make_session, lazy)
    s = make_session()
    sql_log.clear()
    users = s.scalars(select(User).order_by(User.id).limit(2)).all()
    assert [u.name for u in users] == ["jack", "ed"]
    assert _emails(users) == {"jack": ["j1", "j2"], "ed": ["e1"]}
    s.close()
    sql_log.clear()
    jack = s.get(User, 1)
    n = sql_log.count
    assert n == (1 if lazy == "joined" else 2)
    assert [a.email for a in jack.addresses] == ["j1", "j2"]
    assert sql_log.count == n


def test_lazyload_option_overrides_configured_eager(Base, engine, make_session, sql_log):
    User, _Address = _models(Base, engine, make_session, "joined")
    s = make_session()
    sql_log.clear()
    users = s.query(User).options(lazyload(User.addresses)).all()
    assert sql_log.count == 1
    assert "JOIN" not in sql_log.statements[0]
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 3


def test_lazy_true_is_select(Base, engine, make_session, sql_log):
    User, _Address = _models(Base, engine, make_session, True)
    assert User.addresses.prop.lazy == "select"
    s = make_session()
    sql_log.clear()
    users = s.query(User).all()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 4


def test_lazy_none_never_loads(Base, engine, make_session, sql_log):
    User, _Address = _models(Base, engine, make_session, None)
    assert User.addresses.prop.lazy == "noload"
    s = make_session()
    jack = s.get(User, 1)
    sql_log.clear()
    assert jack.addresses == []
    assert sql_log.count == 0


def test_eager_both_ways_stops_at_the_cycle(Base, engine, make_session, sql_log):
    User, Address = _models(Base, engine, make_session, "joined", backref_lazy="joined")
    s = make_session()
    sql_log.clear()
    users = s.query(User).all()
    assert sql_log.count == 1
    assert sql_log.statements[0].count("JOIN") == 1
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert all(a.user is u for u in users for a in u.addresses)
    assert sql_log.count == 0
    addresses = s.query(Address).order_by(Address.id).all()
    assert [a.user.name for a in addresses] == ["jack", "jack", "ed"]


def test_lazy_load_applies_target_eager_relationships(Base, engine, make_session, sql_log):
    """Address.user is lazy; User.addresses is joined: lazy loading an address's user
    brings the user's addresses along."""
    User, Address = _models(Base, engine, make_session, "selectin")
    s = make_session()
    addr = s.query(Address).options(lazyload(Address.user)).filter_by(id=3).one()
    sql_log.clear()
    ed = addr.user
    assert ed.name == "ed"
    assert sql_log.count == 2  # the user, then its addresses (selectin)
    sql_log.clear()
    assert [a.email for a in ed.addresses] == ["e1"]
    assert ed.addresses[0] is addr
    assert sql_log.count == 0


def test_self_referential_join_depth(Base, engine, make_session, sql_log):
    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("nodes.id"))
        children = relationship("Node", lazy="joined", join_depth=2, order_by="Node.id")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Node(id=1, children=[Node(id=2, children=[Node(id=3, children=[Node(id=4)])])]))
    s.commit()
    s.close()
    sql_log.clear()
    root = s.query(Node).filter(Node.id == 1).one()
    assert sql_log.count == 1
    assert [c.id for c in root.children] == [2]
    assert [c.id for c in root.children[0].children] == [3]
    assert sql_log.count == 1
    assert [c.id for c in root.children[0].children[0].children] == [4]  # past join_depth
    assert sql_log.count == 2


def test_joined_many_to_many_nests_the_target_join_inside_the_outer_join(
        Base, engine, make_session, sql_log):
    """joinedload of a relationship through a secondary joins the target to the
    secondary inside the LEFT OUTER JOIN: a secondary row whose target row is missing
    gives no member (as the lazy load's inner join does), not a NULL one."""
    from sqlalchemy import Table

    from datamapper import joinedload

    link = Table("nj_link", Base.metadata,
                 Column("a_id", Integer, ForeignKey("nj_a.id"), primary_key=True),
                 Column("d_id", Integer, primary_key=True))  # no foreign key: may dangle

    class D(Base):
        __tablename__ = "nj_d"
        id = Column(Integer, primary_key=True)

    class A(Base):
        __tablename__ = "nj_a"
        id = Column(Integer, primary_key=True)
        ds = relationship(D, secondary=link, primaryjoin="A.id == nj_link.c.a_id",
                          secondaryjoin="D.id == nj_link.c.d_id", viewonly=True,
                          order_by=D.id)
        one_d = relationship(D, secondary=link, primaryjoin="A.id == nj_link.c.a_id",
                             secondaryjoin="D.id == nj_link.c.d_id", viewonly=True,
                             uselist=False)

    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(A.__table__.insert(), [{"id": 1}, {"id": 2}])
        conn.execute(D.__table__.insert(), [{"id": 10}])
        # a 1: a dangling link (d 5 does not exist) listed before the real one
        conn.execute(link.insert(), [{"a_id": 1, "d_id": 5}, {"a_id": 1, "d_id": 10},
                                     {"a_id": 2, "d_id": 6}])
    s = make_session()
    lazy = {a.id: ([d.id for d in a.ds], a.one_d and a.one_d.id)
            for a in s.scalars(select(A).order_by(A.id))}
    s.close()
    sql_log.clear()
    joined = {a.id: ([d.id for d in a.ds], a.one_d and a.one_d.id)
              for a in s.scalars(select(A).order_by(A.id).options(
                  joinedload(A.ds), joinedload(A.one_d)))}
    assert joined == lazy == {1: ([10], 10), 2: ([], None)}
    (stmt,) = sql_log.statements
    assert "LEFT OUTER JOIN (nj_link AS nj_link_1 JOIN nj_d AS nj_d_1" in \
        stmt.replace("INNER JOIN", "JOIN")  # (MariaDB spells it INNER JOIN)


@pytest.mark.parametrize("how", ["joined", "selectin", "subquery", "select", "joinedload",
                                 "joinedload-innerjoin"])
def test_many_to_many_ordered_by_an_association_column(Base, engine, make_session, sql_log,
                                                        how):
    """order_by=secondary.c.col: the joined eager load orders by the secondary's alias
    (it named the unaliased table: "no such column: order_items.item_id")."""
    from sqlalchemy import Table

    from datamapper import joinedload
    links = Table("ord_items", Base.metadata,
                  Column("order_id", ForeignKey("ords.id"), primary_key=True),
                  Column("item_id", ForeignKey("its.id"), primary_key=True),
                  Column("pos", Integer))

    class Item(Base):
        __tablename__ = "its"
        id = Column(Integer, primary_key=True)

    lazy = how if "joinedload" not in how else "select"

    class Order(Base):
        __tablename__ = "ords"
        id = Column(Integer, primary_key=True)
        items = relationship(Item, secondary=links, lazy=lazy, order_by=links.c.pos.desc())

    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(Order.__table__.insert(), [{"id": 1}, {"id": 2}])
        c.execute(Item.__table__.insert(), [{"id": i} for i in (1, 2, 3)])
        c.execute(links.insert(), [{"order_id": 1, "item_id": 1, "pos": 2},
                                   {"order_id": 1, "item_id": 2, "pos": 3},
                                   {"order_id": 1, "item_id": 3, "pos": 1},
                                   {"order_id": 2, "item_id": 3, "pos": 1}])
    s = make_session()
    stmt = select(Order).order_by(Order.id)
    if how.startswith("joinedload"):
        stmt = stmt.options(joinedload(Order.items, innerjoin=how.endswith("innerjoin")))
    orders = s.scalars(stmt).unique().all()
    n = len(sql_log)
    assert [[i.id for i in o.items] for o in orders] == [[2, 1, 3], [3]]
    assert len(sql_log) == n + (2 if how == "select" else 0)
