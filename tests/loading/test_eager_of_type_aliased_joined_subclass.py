"""An eager loader along a relationship narrowed by of_type() to an aliased()
joined-table subclass (``joinedload(A.bs.of_type(aliased(B1, flat=True)))``)
fills the collection with that subclass's rows only: the eager join inner-joins
the base table to the subclass table inside its outer join.  It outer-joined the
base table alone and loaded every row of the base class into the collection.

Two different of_type() targets along one relationship in one query are refused
(there is one collection to fill); the same target twice, and two plain
subclasses, are accepted."""

import re

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, select

from datamapper import (
    aliased,
    declarative_base,
    joinedload,
    relationship,
    selectinload,
    subqueryload,
)
from datamapper.exc import InvalidRequestError


def _models():
    Base = declarative_base()

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", order_by="B.id")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("a.id"))
        type = Column(String(10))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "b"}

    class B1(B):
        __tablename__ = "b1"
        id = Column(ForeignKey("b.id"), primary_key=True)
        data1 = Column(String(10))
        __mapper_args__ = {"polymorphic_identity": "b1"}

    class B2(B):
        __tablename__ = "b2"
        id = Column(ForeignKey("b.id"), primary_key=True)
        data2 = Column(String(10))
        __mapper_args__ = {"polymorphic_identity": "b2"}

    return Base, A, B, B1, B2


@pytest.fixture
def models(engine, make_session):
    Base, A, B, B1, B2 = _models()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([
        A(id=1, bs=[B(id=1), B1(id=2, data1="x"), B2(id=3, data2="y"),
                    B1(id=4, data1="z")]),
        A(id=2, bs=[B2(id=5, data2="w")]),
        A(id=3),
    ])
    s.commit()
    s.close()
    return A, B, B1, B2


@pytest.mark.parametrize("flat", [True, False], ids=["flat", "nonflat"])
@pytest.mark.parametrize("loader", [joinedload, selectinload, subqueryload],
                         ids=["joined", "selectin", "subquery"])
def test_eager_of_type_aliased_subclass_loads_only_that_subclass(
        models, make_session, sql_log, loader, flat):
    A, B, B1, B2 = models
    b1 = aliased(B1, flat=flat)
    s = make_session()
    sql_log.clear()
    got = s.scalars(select(A).options(loader(A.bs.of_type(b1))).order_by(A.id)) \
        .unique().all()
    n = sql_log.count
    assert [(a.id, [(type(b).__name__, b.id, b.data1) for b in a.bs]) for a in got] == [
        (1, [("B1", 2, "x"), ("B1", 4, "z")]), (2, []), (3, [])]
    assert sql_log.count == n  # the collections came with the eager load
    if loader is joinedload:
        assert len(sql_log.statements) == 1
        sql = sql_log.statements[0]
        # b is inner-joined to b1 inside the outer join from a
        assert re.search(r"LEFT OUTER JOIN \(b AS b_1 (INNER )?JOIN b1 AS b1_1 "
                         r"ON b_1.id = b1_1.id\)", sql)
    else:
        assert re.search(r"FROM b (INNER )?JOIN b1 ON b.id = b1.id", sql_log.statements[-1])


def test_joinedload_of_type_plain_subclass_loads_every_row(models, make_session):
    A, B, B1, B2 = models
    s = make_session()
    got = s.scalars(select(A).options(joinedload(A.bs.of_type(B1))).order_by(A.id)) \
        .unique().all()
    assert [(a.id, [(type(b).__name__, b.id) for b in a.bs]) for a in got] == [
        (1, [("B", 1), ("B1", 2), ("B2", 3), ("B1", 4)]), (2, [("B2", 5)]), (3, [])]


@pytest.mark.parametrize("plain", [False, True], ids=["aliased", "plain"])
@pytest.mark.parametrize("loader", [joinedload, selectinload, subqueryload],
                         ids=["joined", "selectin", "subquery"])
def test_two_of_type_targets_on_one_relationship_are_refused(models, make_session,
                                                             loader, plain):
    A, B, B1, B2 = models
    b1 = B1 if plain else aliased(B1, flat=True)
    b2 = aliased(B2, flat=True)
    s = make_session()
    stmt = select(A).options(loader(A.bs.of_type(b1)), loader(A.bs.of_type(b2)))
    with pytest.raises(InvalidRequestError, match=r"A\.bs") as ei:
        s.scalars(stmt).unique().all()
    assert "B2" in str(ei.value) and "B1" in str(ei.value)


def test_same_aliased_target_twice_is_accepted(models, make_session):
    A, B, B1, B2 = models
    b1 = aliased(B1, flat=True)
    s = make_session()
    got = s.scalars(select(A).options(joinedload(A.bs.of_type(b1)),
                                      joinedload(A.bs.of_type(b1))).order_by(A.id)) \
        .unique().all()
    assert [[b.id for b in a.bs] for a in got] == [[2, 4], [], []]


def test_two_plain_subclasses_are_accepted(models, make_session):
    A, B, B1, B2 = models
    s = make_session()
    got = s.scalars(select(A).options(joinedload(A.bs.of_type(B1)),
                                      joinedload(A.bs.of_type(B2))).order_by(A.id)) \
        .unique().all()
    assert [[(type(b).__name__, b.id) for b in a.bs] for a in got] == [
        [("B", 1), ("B1", 2), ("B2", 3), ("B1", 4)], [("B2", 5)], []]
