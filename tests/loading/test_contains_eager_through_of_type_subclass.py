"""contains_eager() along a relationship narrowed by of_type() to a subclass (a
single-table one, a joined-table one, or an aliased() one) goes on along a
relationship of that subclass (``contains_eager(A.bs.of_type(B1), B1.cs)``): the
rows the query joined fill both collections, with no further SELECT (it was refused:
"belongs to a subclass, whose table the query does not join")."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import aliased, contains_eager, declarative_base, relationship


def _models(joined: bool):
    Base = declarative_base()

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", order_by="B.id")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)
        type = Column(String(10))
        a_id = Column(ForeignKey("a.id"))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "b"}

    class C(Base):
        __tablename__ = "c"
        id = Column(Integer, primary_key=True)
        b_id = Column(ForeignKey("b.id"))

    if joined:
        class B1(B):
            __tablename__ = "b1"
            id = Column(ForeignKey("b.id"), primary_key=True)
            data = Column(String(10))
            cs = relationship(C, order_by=C.id)
            __mapper_args__ = {"polymorphic_identity": "b1"}
    else:
        class B1(B):  # type: ignore[no-redef]
            data = Column(String(10))
            cs = relationship(C, order_by=C.id)
            __mapper_args__ = {"polymorphic_identity": "b1"}
    return Base, A, B, B1, C


@pytest.mark.parametrize("alias", [False, True], ids=["class", "aliased"])
@pytest.mark.parametrize("joined", [False, True], ids=["single", "joined"])
def test_contains_eager_through_of_type_subclass(engine, make_session, sql_log, joined,
                                                 alias):
    Base, A, B, B1, C = _models(joined)
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(A(id=1, bs=[B1(id=1, data="x", cs=[C(id=1), C(id=2)]), B1(id=2, data="y")]))
    s.commit()
    s.close()
    b1 = aliased(B1) if alias else B1
    q = s.query(A).outerjoin(A.bs.of_type(b1)).outerjoin(b1.cs) \
        .options(contains_eager(A.bs.of_type(b1)).contains_eager(b1.cs)) \
        .order_by(A.id, b1.id, C.id)
    a = q.all()[0]
    n = sql_log.count
    assert [(type(b).__name__, b.data, [c.id for c in b.cs]) for b in a.bs] == [
        ("B1", "x", [1, 2]), ("B1", "y", [])]
    assert sql_log.count == n  # both levels came with the query's rows
