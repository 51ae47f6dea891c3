"""An unbound wildcard loader option (``raiseload("*")``, ``lazyload("*")``,
``joinedload("*")`` ...) applies to the relationships of every object the query
loads, also those loaded eagerly below the selected entity (it applied to the
selected entity's relationships only: objects of a joinedload() still lazy loaded
under raiseload("*")); ``Load(A).raiseload("*")`` stays at its entity; of several
unbound wildcards the last one given wins."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer
from sqlalchemy.exc import ArgumentError, InvalidRequestError

from datamapper import (
    Load,
    joinedload,
    lazyload,
    raiseload,
    relationship,
    selectinload,
    subqueryload,
)


@pytest.fixture
def M(Base, engine, make_session):
    class A(Base):
        __tablename__ = "wd_a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", order_by="B.id", back_populates="a")

    class B(Base):
        __tablename__ = "wd_b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("wd_a.id"))
        a = relationship("A", back_populates="bs")
        cs = relationship("C", order_by="C.id", lazy="joined")

    class C(Base):
        __tablename__ = "wd_c"
        id = Column(Integer, primary_key=True)
        b_id = Column(ForeignKey("wd_b.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(A(id=1, bs=[B(id=1, cs=[C(id=1), C(id=2)]), B(id=2)]))
    s.commit()
    s.close()
    return A, B, C


def test_unbound_raiseload_star_reaches_eagerly_loaded_objects(M, make_session, sql_log):
    A, B, _c = M
    s = make_session()
    a = s.query(A).options(joinedload(A.bs), raiseload("*")).one()
    sql_log.clear()
    assert [b.id for b in a.bs] == [1, 2]
    with pytest.raises(InvalidRequestError, match="cs"):
        a.bs[0].cs  # noqa: B018  configured lazy="joined", but the wildcard says raise
    assert sql_log.count == 0


def test_bound_raiseload_star_stays_at_its_entity(M, make_session, sql_log):
    A, _b, _c = M
    s = make_session()
    a = s.query(A).options(joinedload(A.bs), Load(A).raiseload("*")).one()
    sql_log.clear()
    assert [c.id for c in a.bs[0].cs] == [1, 2]  # B.cs loaded as configured
    assert sql_log.count == 0


@pytest.mark.parametrize("loader, statements", [(joinedload, 1), (selectinload, 3),
                                                (subqueryload, 3)])
def test_eager_wildcard_loads_every_depth_in_one_go(M, make_session, sql_log, loader,
                                                    statements):
    A, _b, _c = M
    s = make_session()
    sql_log.clear()
    a = s.query(A).options(loader("*")).one()
    assert [[c.id for c in b.cs] for b in a.bs] == [[1, 2], []]
    assert all(b.a is a for b in a.bs)
    assert sql_log.count == statements


def test_last_unbound_wildcard_wins(M, make_session, sql_log):
    A, _b, _c = M
    s = make_session()
    sql_log.clear()
    a = s.query(A).options(raiseload("*"), lazyload("*")).one()
    assert [b.id for b in a.bs] == [1, 2]  # lazy loaded, not refused
    assert sql_log.count == 2


def test_nothing_can_follow_a_relationship_wildcard(M):
    A, B, _c = M
    with pytest.raises(ArgumentError, match="after the wildcard"):
        subqueryload("*", A.bs)
    with pytest.raises(ArgumentError, match="after the wildcard"):
        subqueryload(A.bs).joinedload("*").selectinload(B.cs)
    Load(A).joinedload(A.bs).raiseload("*")  # a wildcard ending a path is fine


@pytest.mark.parametrize("option", [lambda A: Load(A).lazyload("*"),
                                    lambda A: Load(A).raiseload("*")])
def test_bound_wildcard_in_a_query_of_columns_only_is_ignored(M, make_session, sql_log,
                                                              option):
    # no entity is loaded, so there is no relationship for it to apply to (it raised
    # "A is not an entity of this query")
    A, _b, _c = M
    s = make_session()
    sql_log.clear()
    assert s.query(A.id).options(option(A)).all() == [(1,)]
    assert sql_log.count == 1


def test_bound_relationship_option_in_a_query_of_columns_only_is_refused(M, make_session):
    A, _b, _c = M
    s = make_session()
    with pytest.raises(ArgumentError, match="not an entity of this query"):
        s.query(A.id).options(Load(A).joinedload(A.bs)).all()
