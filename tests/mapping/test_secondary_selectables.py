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
