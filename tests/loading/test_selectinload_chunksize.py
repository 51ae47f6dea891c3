"""``selectinload(..., chunksize=n)`` (SQLAlchemy 2.1): at most n parent keys in
the IN list of one SELECT of the related rows (it was refused: unexpected keyword);
a chunksize that is not a positive integer is refused with the fix."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer
from sqlalchemy.exc import ArgumentError

from datamapper import Load, relationship, select, selectinload


@pytest.fixture
def M(Base, engine, make_session):
    class A(Base):
        __tablename__ = "ck_a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", order_by="B.id")

    class B(Base):
        __tablename__ = "ck_b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("ck_a.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([A(id=i, bs=[B(id=10 * i), B(id=10 * i + 1)]) for i in range(1, 6)])
    s.commit()
    s.close()
    return A, B


@pytest.mark.parametrize("chunksize, selects", [(2, 3), (5, 1), (None, 1)])
@pytest.mark.parametrize("form", ["function", "Load"])
def test_chunksize_splits_the_in_list(M, make_session, sql_log, chunksize, selects, form):
    A, _b = M
    s = make_session()
    opt = selectinload(A.bs, chunksize=chunksize) if form == "function" else \
        Load(A).selectinload(A.bs, chunksize=chunksize)
    sql_log.clear()
    objs = s.scalars(select(A).options(opt).order_by(A.id)).all()
    assert [[b.id for b in a.bs] for a in objs] == [[10 * i, 10 * i + 1] for i in range(1, 6)]
    assert sum("FROM ck_b" in st for st in sql_log.statements) == selects


@pytest.mark.parametrize("bad", [0, -250, "a", True])
def test_chunksize_must_be_a_positive_integer(M, bad):
    A, _b = M
    with pytest.raises(ArgumentError, match="chunksize"):
        selectinload(A.bs, chunksize=bad)
