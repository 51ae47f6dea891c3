"""``secondary`` given as a subquery or a join of tables (read through), and the
refusals: a mapped class as ``secondary``, writes through a non-table secondary."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, and_, select

from datamapper import (
    clear_mappers,
    configure_mappers,
    exc,
    joinedload,
    relationship,
    selectinload,
)


@pytest.fixture
def subquery_models(Base, engine, session):
    """A.bs: the B rows whose id appears in A.b_ids, through a subquery."""
    a = Table("ssq_a", Base.metadata, Column("id", Integer, primary_key=True),
              Column("b_ids", String(50)))
    b = Table("ssq_b", Base.metadata, Column("id", String(10), primary_key=True))
    sec = (select(a.c.id.label("aid"), b.c.id)
           .select_from(a.join(b, a.c.b_ids.like("%" + b.c.id + "%"))).subquery())

    class B(Base):
        __table__ = b

    class A(Base):
        __table__ = a
        bs = relationship(B, secondary=sec, primaryjoin=a.c.id == sec.c.aid,
                          secondaryjoin=b.c.id == sec.c.id, order_by=b.c.id)

    Base.metadata.create_all(engine)
    session.add_all([A(id=1, b_ids="1"), A(id=2, b_ids="2 3"), B(id="1"), B(id="2"),
                     B(id="3")])
    session.commit()
    session.expunge_all()
    return A, B


def test_subquery_secondary_lazy_load(subquery_models, session):
    A, _B = subquery_models
    assert [b.id for b in session.get(A, 2).bs] == ["2", "3"]
    assert [b.id for b in session.get(A, 1).bs] == ["1"]


@pytest.mark.parametrize("option", [joinedload, selectinload])
def test_subquery_secondary_eager_load(subquery_models, session, option):
    A, _B = subquery_models
    rows = session.scalars(select(A).options(option(A.bs)).order_by(A.id)).unique().all()
    assert [[b.id for b in a.bs] for a in rows] == [["1"], ["2", "3"]]


def test_subquery_secondary_query_join(subquery_models, session):
    A, B = subquery_models
    rows = session.query(A.id, B.id).join(A.bs).order_by(A.id, B.id).all()
    assert rows == [(1, "1"), (2, "2"), (2, "3")]


def test_write_through_subquery_secondary_is_refused(subquery_models, session):
    A, B = subquery_models
    a1 = session.get(A, 1)
    a1.bs.append(session.get(B, "3"))
    with pytest.raises(exc.InvalidRequestError, match="not a table"):
        session.flush()
    session.rollback()
    assert session.execute(select(A.__table__.c.b_ids).where(A.__table__.c.id == 1)
                           ).scalar_one() == "1"


@pytest.fixture
def join_models(Base, engine, session):
    """A.d: the D reached through A.b -> B.d, provided a C links A to the same D."""
    dt = Table("sj_d", Base.metadata, Column("id", Integer, primary_key=True),
              Column("name", String(10)))
    b = Table("sj_b", Base.metadata, Column("id", Integer, primary_key=True),
              Column("d_id", ForeignKey("sj_d.id")))
    a = Table("sj_a", Base.metadata, Column("id", Integer, primary_key=True),
              Column("name", String(10)), Column("b_id", ForeignKey("sj_b.id")))
    c = Table("sj_c", Base.metadata, Column("id", Integer, primary_key=True),
              Column("a_id", ForeignKey("sj_a.id")), Column("d_id", ForeignKey("sj_d.id")))
    j = b.join(dt, b.c.d_id == dt.c.id).join(c, c.c.d_id == dt.c.id)

    class D(Base):
        __table__ = dt

    class A(Base):
        __table__ = a
        d = relationship(D, secondary=j,
                         primaryjoin=and_(a.c.b_id == b.c.id, a.c.id == c.c.a_id),
                         secondaryjoin=dt.c.id == b.c.d_id, uselist=False, viewonly=True)

    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(dt.insert(), [{"id": 1, "name": "d1"}, {"id": 2, "name": "d2"}])
        conn.execute(b.insert(), [{"id": 1, "d_id": 1}, {"id": 2, "d_id": 1},
                                  {"id": 3, "d_id": 2}])
        conn.execute(a.insert(), [{"id": 1, "name": "a1", "b_id": 1},
                                  {"id": 2, "name": "a2", "b_id": 2},
                                  {"id": 3, "name": "a3", "b_id": 3}])
        conn.execute(c.insert(), [{"id": 1, "a_id": 1, "d_id": 1},
                                  {"id": 2, "a_id": 2, "d_id": 2},
                                  {"id": 3, "a_id": 3, "d_id": 2}])
    return A, D


EXPECTED = {"a1": "d1", "a2": None, "a3": "d2"}


def test_join_secondary_lazy_load(join_models, session):
    A, _D = join_models
    got = {a.name: (a.d.name if a.d is not None else None)
           for a in session.scalars(select(A))}
    assert got == EXPECTED


def test_join_secondary_joined_load(join_models, session):
    A, _D = join_models
    got = {a.name: (a.d.name if a.d is not None else None)
           for a in session.scalars(select(A).options(joinedload(A.d))).unique()}
    assert got == EXPECTED


def test_join_secondary_query_outerjoin(join_models, session):
    A, D = join_models
    got = {a.name: (d.name if d is not None else None)
           for a, d in session.query(A, D).select_from(A).outerjoin(A.d)}
    assert got == EXPECTED


def test_mapped_class_as_secondary_is_refused(Base):
    class Link(Base):
        __tablename__ = "sm_link"
        id = Column(Integer, primary_key=True)
        l_id = Column(ForeignKey("sm_left.id"))
        r_id = Column(ForeignKey("sm_right.id"))

    class Right(Base):
        __tablename__ = "sm_right"
        id = Column(Integer, primary_key=True)

    class Left(Base):
        __tablename__ = "sm_left"
        id = Column(Integer, primary_key=True)
        rights = relationship(Right, secondary=Link)

    try:
        with pytest.raises(exc.ArgumentError, match="mapped class Link"):
            configure_mappers()
    finally:
        clear_mappers()


@pytest.fixture
def chain_models(Base, engine, session):
    """GrandParent.grand_children through secondary="sc_parent", where the
    intermediate table refers to the grandparent and the child refers to the
    intermediate table (no foreign key from the secondary to the target)."""

    class GrandParent(Base):
        __tablename__ = "sc_grandparent"
        id = Column(Integer, primary_key=True)
        grand_children = relationship("SChild", secondary="sc_parent", viewonly=True,
                                      order_by="SChild.id")
        writeonly_children = relationship("SChild", secondary="sc_parent", viewonly=True,
                                          lazy="write_only")

    class SParent(Base):
        __tablename__ = "sc_parent"
        id = Column(Integer, primary_key=True)
        grand_parent_id = Column(Integer, ForeignKey("sc_grandparent.id"), nullable=False)

    class SChild(Base):
        __tablename__ = "sc_child"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("sc_parent.id"), nullable=False)

    Base.metadata.create_all(engine)
    session.add_all([GrandParent(id=1), GrandParent(id=2)])
    session.flush()
    session.add_all([SParent(id=10, grand_parent_id=1), SParent(id=11, grand_parent_id=1),
                     SParent(id=20, grand_parent_id=2)])
    session.flush()
    session.add_all([SChild(id=100, parent_id=10), SChild(id=101, parent_id=11),
                     SChild(id=200, parent_id=20)])
    session.commit()
    session.expunge_all()
    return GrandParent, SChild


def test_secondary_chain_derives_the_join_from_the_targets_foreign_key(chain_models):
    GrandParent, _SChild = chain_models
    prop = GrandParent.grand_children.property
    configure_mappers()
    assert "sc_parent.id = sc_child.parent_id" in str(prop.secondaryjoin)
    assert "sc_grandparent.id = sc_parent.grand_parent_id" in str(prop.primaryjoin)


def test_secondary_chain_lazy_and_eager_loads(chain_models, session):
    GrandParent, _SChild = chain_models
    assert [c.id for c in session.get(GrandParent, 1).grand_children] == [100, 101]
    session.expunge_all()
    rows = session.scalars(select(GrandParent).options(selectinload(
        GrandParent.grand_children)).order_by(GrandParent.id)).all()
    assert [[c.id for c in g.grand_children] for g in rows] == [[100, 101], [200]]


def test_secondary_chain_write_only_select(chain_models, session):
    GrandParent, SChild = chain_models
    g = session.get(GrandParent, 2)
    assert [c.id for c in session.scalars(g.writeonly_children.select())] == [200]
    stmt = g.writeonly_children.select().filter_by(id=200)
    assert session.scalars(stmt).one().id == 200


def test_write_only_select_through_a_join_secondary_keeps_its_on_clause(Base, engine,
                                                                        session):
    """secondary=order_items.join(orders): the select() FROMs the join as a whole; the
    tables one by one would pair every order with every order_items row (a
    cartesian product returning other users' items)."""
    users = Table("wj_users", Base.metadata, Column("id", Integer, primary_key=True))
    items = Table("wj_items", Base.metadata, Column("id", Integer, primary_key=True))
    orders = Table("wj_orders", Base.metadata, Column("id", Integer, primary_key=True),
                   Column("user_id", ForeignKey("wj_users.id")))
    order_items = Table("wj_order_items", Base.metadata,
                        Column("item_id", ForeignKey("wj_items.id"), primary_key=True),
                        Column("order_id", ForeignKey("wj_orders.id"), primary_key=True))

    class Item(Base):
        __table__ = items

    class User(Base):
        __table__ = users
        items = relationship(Item, secondary=order_items.join(orders), lazy="write_only",
                             viewonly=True)

    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(users.insert(), [{"id": 1}, {"id": 2}])
        c.execute(items.insert(), [{"id": 1}, {"id": 2}, {"id": 3}])
        c.execute(orders.insert(), [{"id": 1, "user_id": 1}, {"id": 2, "user_id": 2}])
        c.execute(order_items.insert(), [{"item_id": 1, "order_id": 1},
                                         {"item_id": 2, "order_id": 2},
                                         {"item_id": 3, "order_id": 2}])
    u1, u2 = session.get(User, 1), session.get(User, 2)
    stmt = u1.items.select()
    assert "wj_order_items JOIN wj_orders ON" in str(stmt)
    assert sorted(i.id for i in session.scalars(u1.items.select())) == [1]
    assert sorted(i.id for i in session.scalars(u2.items.select())) == [2, 3]
