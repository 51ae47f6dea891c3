"""filter_by() of a select() joined along a many-to-many relationship: the association
table the join passes through is not one of the entities searched (SQLAlchemy 2.1
searches every joined entity).  ``select(A).join(A.bs).filter_by(b_id=1)`` raised
AmbiguousColumnError, the association table's ``b_id`` found beside ``b.b_id``."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy import select as core_select
from sqlalchemy.exc import InvalidRequestError

from datamapper import relationship, select


@pytest.fixture
def M(Base, engine, make_session):
    atob = Table("fbm_atob", Base.metadata,
                 Column("a_id", ForeignKey("fbm_a.a_id"), primary_key=True),
                 Column("b_id", ForeignKey("fbm_b.b_id"), primary_key=True))

    class A(Base):
        __tablename__ = "fbm_a"
        a_id = Column(Integer, primary_key=True)
        bs = relationship("B", secondary=atob)

    class B(Base):
        __tablename__ = "fbm_b"
        b_id = Column(Integer, primary_key=True)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([A(a_id=5, bs=[B(b_id=1, name="x"), B(b_id=2, name="y")]), A(a_id=6)])
    s.commit()
    s.close()
    return A, B, atob


@pytest.mark.parametrize("make", [select, core_select], ids=["datamapper", "core"])
def test_filter_by_names_the_entities_not_the_association_table(M, session, make, sql_log):
    A, B, _atob = M
    stmt = make(A.a_id, B.b_id).join(A.bs).filter_by(b_id=2)
    assert session.execute(stmt).all() == [(5, 2)]
    assert "fbm_b.b_id = " in sql_log.statements[-1]
    assert session.execute(make(A.a_id).join(A.bs).filter_by(a_id=5)).all() == [(5,), (5,)]
    assert session.execute(make(A.a_id).join(A.bs).filter_by(name="x")).all() == [(5,)]
    with pytest.raises(InvalidRequestError):
        make(A).join(A.bs).filter_by(association="hi")


def test_an_association_table_joined_by_hand_is_searched(M, session):
    A, _B, atob = M
    stmt = select(A.a_id).join(atob).filter_by(b_id=2)
    assert session.execute(stmt).all() == [(5,)]
