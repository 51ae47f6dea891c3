"""A lazy load whose key column the object's INSERT left out (no value, no default):
the row holds NULL there, so the load answers None/[] without reading the column
back, as a plain read of the column does; a column the database filled (server
default) or one that was expired is read first."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, and_

from datamapper import relationship


@pytest.fixture
def models(Base, engine):
    class U(Base):
        __tablename__ = "u"
        id = Column(Integer, primary_key=True)

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("u.id"))
        dflt_user_id = Column(Integer, ForeignKey("u.id"), server_default="1")
        note = Column(String(20))
        user = relationship(U, foreign_keys=[user_id])
        # not a by-key many-to-one: extra criteria make it a SELECT
        user_not_27 = relationship(
            U, primaryjoin=lambda: and_(U.id == A.user_id, U.id != 27), viewonly=True)
        dflt_user = relationship(U, foreign_keys=[dflt_user_id])

    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(U.__table__.insert(), [{"id": 1}])  # the server default's row
    return U, A


@pytest.mark.parametrize("attr", ["user", "user_not_27"])
def test_lazy_load_of_a_key_never_set_emits_no_sql(models, session, sql_log, attr):
    U, A = models
    a = A()
    session.add(a)
    session.flush()
    sql_log.clear()
    assert getattr(a, attr) is None
    assert sql_log.statements == []


def test_lazy_load_of_a_server_default_key_reads_it(models, session, sql_log):
    U, A = models
    a = A()
    session.add(a)
    session.flush()
    u = session.get(U, 1)
    assert a.dflt_user is u
    assert any("dflt_user_id" in s for s in sql_log.statements)


def test_lazy_load_of_an_expired_key_reads_it(models, session, read_rows):
    U, A = models
    session.add_all([U(id=5), A(id=1)])
    session.commit()
    session.execute(A.__table__.update().values(user_id=5))
    session.expire_all()
    assert session.get(A, 1).user_not_27.id == 5
    assert session.get(A, 1).user.id == 5
