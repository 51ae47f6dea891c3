"""viewonly relationships whose join condition is not a plain AND of equalities:
comparisons other than ``==`` (``>``, ``between()``, custom operators) and OR-ed
alternatives.  The lazy load, the eager loaders and query joins all use the join
condition as written, with the parent's columns bound from the parent row."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, or_

from datamapper import clear_mappers, foreign, joinedload, relationship, selectinload


@pytest.fixture(autouse=True)
def _no_broken_mappings_left():
    yield
    clear_mappers()  # a mapping refused at configure time must not reach later tests


@pytest.fixture
def NonEqui(Base, engine, make_session):
    class Bar(Base):
        __tablename__ = "ne_bars"
        id = Column(Integer, primary_key=True)
        fid = Column(Integer)

    class Foo(Base):
        __tablename__ = "ne_foos"
        id = Column(Integer, primary_key=True)
        bars = relationship(Bar, primaryjoin=lambda: Foo.id > Bar.fid,
                            foreign_keys=lambda: [Bar.fid], viewonly=True,
                            order_by=lambda: Bar.id)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Foo(id=4), Foo(id=9), Bar(id=1, fid=2), Bar(id=2, fid=3), Bar(id=3, fid=6),
               Bar(id=4, fid=7)])
    s.commit()
    s.close()
    return Foo, Bar


@pytest.mark.parametrize("load", ["lazy", "joined", "selectin"])
def test_greater_than_join_loads_every_matching_row(NonEqui, make_session, load):
    Foo, Bar = NonEqui
    s = make_session()
    q = s.query(Foo).order_by(Foo.id)
    if load == "joined":
        q = q.options(joinedload(Foo.bars))
    elif load == "selectin":
        q = q.options(selectinload(Foo.bars))
    f4, f9 = q.all()
    assert [b.fid for b in f4.bars] == [2, 3]
    assert [b.fid for b in f9.bars] == [2, 3, 6, 7]


def test_greater_than_join_in_a_query_join(NonEqui, make_session):
    Foo, Bar = NonEqui
    s = make_session()
    rows = s.query(Foo.id, Bar.fid).join(Foo.bars).order_by(Foo.id, Bar.fid).all()
    assert rows == [(4, 2), (4, 3), (9, 2), (9, 3), (9, 6), (9, 7)]


def test_between_with_foreign_and_remote_marks(Base, engine, make_session):
    class Address(Base):
        __tablename__ = "ne_address"
        ip_addr = Column(Integer, primary_key=True)

    class Network(Base):
        __tablename__ = "ne_network"
        id = Column(Integer, primary_key=True)
        lo = Column(Integer)
        hi = Column(Integer)
        addresses = relationship(
            "Address", viewonly=True, order_by="Address.ip_addr",
            primaryjoin="remote(foreign(Address.ip_addr)).between(Network.lo, Network.hi)")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Network(id=1, lo=5, hi=10), Network(id=2, lo=15, hi=25)]
              + [Address(ip_addr=n) for n in (5, 8, 12, 18, 25, 30)])
    s.commit()
    s.close()
    s = make_session()
    n1, n2 = s.query(Network).order_by(Network.id).all()
    assert [a.ip_addr for a in n1.addresses] == [5, 8]
    assert [a.ip_addr for a in n2.addresses] == [18, 25]


def test_custom_operator_join(Base, engine, make_session):
    class B(Base):
        __tablename__ = "ne_b"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class A(Base):
        __tablename__ = "ne_a"
        id = Column(Integer, primary_key=True)
        prefix = Column(String(20))
        bs = relationship(B, viewonly=True, order_by=lambda: B.id,
                          primaryjoin=lambda: foreign(B.name).op("LIKE", is_comparison=True)(
                              A.prefix + "%"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([A(id=1, prefix="ab"), B(id=1, name="abc"), B(id=2, name="abd"),
               B(id=3, name="xyz")])
    s.commit()
    s.close()
    s = make_session()
    a = s.get(A, 1)
    assert [b.id for b in a.bs] == [1, 2]


@pytest.mark.parametrize("load", ["lazy", "selectin"])
def test_or_of_two_foreign_keys_loads_either_match(Base, engine, make_session, load):
    class Foo(Base):
        __tablename__ = "or_foos"
        id = Column(Integer, primary_key=True)
        data = Column(String(20))

    class Bar(Base):
        __tablename__ = "or_bars"
        id = Column(Integer, primary_key=True)
        fid1 = Column(ForeignKey("or_foos.id"))
        fid2 = Column(ForeignKey("or_foos.id"))

    Foo.__mapper__.add_property("bars", relationship(
        Bar, viewonly=True, order_by=Bar.id,
        primaryjoin=or_(Bar.__table__.c.fid1 == Foo.__table__.c.id,
                        Bar.__table__.c.fid2 == Foo.__table__.c.id)))
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Foo(id=1), Foo(id=2)])
    s.flush()
    s.add_all([Bar(id=1, fid1=1), Bar(id=2, fid2=1), Bar(id=3, fid1=2, fid2=2),
               Bar(id=4, fid1=2, fid2=1)])
    s.commit()
    s.close()
    s = make_session()
    q = s.query(Foo).order_by(Foo.id)
    if load == "selectin":
        q = q.options(selectinload(Foo.bars))
    f1, f2 = q.all()
    assert [b.id for b in f1.bars] == [1, 2, 4]
    assert [b.id for b in f2.bars] == [3, 4]


def test_or_of_two_foreign_keys_many_to_one(Base, engine, make_session):
    class Bar(Base):
        __tablename__ = "or2_bars"
        id = Column(Integer, primary_key=True)

    class Foo(Base):
        __tablename__ = "or2_foos"
        id = Column(Integer, primary_key=True)
        bid1 = Column(ForeignKey("or2_bars.id"))
        bid2 = Column(ForeignKey("or2_bars.id"))

    Foo.__mapper__.add_property("bars", relationship(
        Bar, viewonly=True, uselist=True, order_by=Bar.id,
        primaryjoin=or_(Bar.__table__.c.id == Foo.__table__.c.bid1,
                        Bar.__table__.c.id == Foo.__table__.c.bid2)))
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Bar(id=1), Bar(id=2), Bar(id=3)])
    s.flush()
    s.add_all([Foo(id=1, bid1=1, bid2=3), Foo(id=2, bid1=None, bid2=2)])
    s.commit()
    s.close()
    s = make_session()
    f1, f2 = s.query(Foo).order_by(Foo.id).all()
    assert [b.id for b in f1.bars] == [1, 3]
    assert [b.id for b in f2.bars] == [2]


def test_viewonly_join_through_other_tables(Base, engine, make_session):
    """T1.t3s reads T3 rows reached through T2 and an association table, with no
    secondary=: remote_side names where the parent's column meets the join."""
    from sqlalchemy import Table, and_

    from datamapper import exc

    t1 = Table("cj_t1", Base.metadata, Column("id", Integer, primary_key=True))
    t2 = Table("cj_t2", Base.metadata, Column("id", Integer, primary_key=True),
               Column("t1id", ForeignKey("cj_t1.id")))
    t3 = Table("cj_t3", Base.metadata, Column("id", Integer, primary_key=True))
    t2tot3 = Table("cj_t2tot3", Base.metadata, Column("t2id", ForeignKey("cj_t2.id")),
                   Column("t3id", ForeignKey("cj_t3.id")))

    class T1:
        pass

    class T3:
        pass

    pj = and_(t1.c.id == t2.c.t1id, t2.c.id == t2tot3.c.t2id, t3.c.id == t2tot3.c.t3id)
    Base.registry.map_imperatively(T3, t3)
    Base.registry.map_imperatively(T1, t1, properties={"t3s": relationship(
        T3, primaryjoin=pj, viewonly=True, foreign_keys=t3.c.id, remote_side=t2.c.t1id,
        order_by=t3.c.id)})
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t1.insert(), [{"id": 1}, {"id": 2}])
        conn.execute(t2.insert(), [{"id": 10, "t1id": 1}, {"id": 20, "t1id": 2}])
        conn.execute(t3.insert(), [{"id": 100}, {"id": 200}, {"id": 300}])
        conn.execute(t2tot3.insert(), [{"t2id": 10, "t3id": 100}, {"t2id": 10, "t3id": 300},
                                       {"t2id": 20, "t3id": 200}])
    s = make_session()
    assert [t.id for t in s.get(T1, 1).t3s] == [100, 300]
    assert [t.id for t in s.get(T1, 2).t3s] == [200]
    assert T1.t3s.property.local_remote_pairs == [(t1.c.id, t2.c.t1id)]

    with pytest.raises(exc.ArgumentError, match=r"remote_side="):
        reg2 = type(Base.registry)()
        reg2.map_imperatively(type("T3x", (), {}), t3)
        reg2.map_imperatively(type("T1x", (), {}), t1, properties={"t3s": relationship(
            "T3x", primaryjoin=pj, viewonly=True, foreign_keys=t3.c.id)})
        reg2.configure()
