"""filter_by() of a select() joined along a many-to-many relationship: the association
table the join passes through is not one of the entities searched.

SQLAlchemy 2.1's filter_by() searches every entity of the statement (a relationship join
counting as its destination); ``select(A).join(A.bs).filter_by(b_id=1)`` raised
AmbiguousColumnError, the association table's ``b_id`` found beside ``b.b_id``.
SQLAlchemy 2.0's searches the last joined entity alone (B here), so names of A are
refused there: the tests say which series they expect."""

import pytest
import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy import select as core_select
from sqlalchemy.exc import InvalidRequestError

from datamapper import relationship, select

SA21 = tuple(int(x) for x in sqlalchemy.__version__.split(".")[:2]) >= (2, 1)


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


MAKERS = pytest.mark.parametrize("make", [select, core_select], ids=["datamapper", "core"])


@MAKERS
def test_filter_by_names_the_joined_class_not_the_association_table(M, session, make,
                                                                    sql_log):
    A, B, _atob = M
    stmt = make(A.a_id, B.b_id).join(A.bs).filter_by(b_id=2)
    assert session.execute(stmt).all() == [(5, 2)]
    assert "WHERE fbm_b.b_id = " in sql_log.statements[-1]
    stmt = make(A.a_id).join(A.bs).filter_by(name="x")
    assert session.execute(stmt).all() == [(5,)]
    with pytest.raises(InvalidRequestError, match="association"):
        make(A).join(A.bs).filter_by(association="hi")


@pytest.mark.skipif(not SA21, reason="SQLAlchemy 2.0 searches the last joined entity only")
@MAKERS
def test_filter_by_names_the_selected_class_after_the_join(M, session, make, sql_log):
    A, _B, _atob = M
    stmt = make(A.a_id).join(A.bs).filter_by(a_id=5, name="y")
    assert session.execute(stmt).all() == [(5,)]
    sql = sql_log.statements[-1]
    assert "fbm_a.a_id = " in sql and "fbm_b.name = " in sql and "fbm_atob_1.a_id = " not in \
        sql.partition("WHERE")[2]
    # joined twice (the second adds nothing) and after with_only_columns(): the same
    stmt = make(A).join(A.bs).join(A.bs).with_only_columns(A.a_id).filter_by(a_id=5)
    assert session.execute(stmt).all() == [(5,), (5,)]


@pytest.mark.skipif(SA21, reason="SQLAlchemy 2.1 searches every entity")
@MAKERS
def test_filter_by_names_the_last_joined_entity_on_sqlalchemy_2_0(M, make):
    A, _B, _atob = M
    with pytest.raises(InvalidRequestError, match='"a_id"'):
        make(A).join(A.bs).filter_by(a_id=5)


def test_an_association_table_joined_by_hand_is_searched(M, session):
    A, _B, atob = M
    stmt = select(A.a_id).join(atob).filter_by(b_id=2)
    assert session.execute(stmt).all() == [(5,)]
