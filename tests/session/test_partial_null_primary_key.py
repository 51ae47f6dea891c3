"""Objects whose composite primary key has a NULL part (SQLite accepts NULL in key
columns): expired attributes load by ``IS NULL`` for that part, and writing an expired
key attribute its own value loads the old value first, so no UPDATE is written."""

import pytest
from sqlalchemy import Column, String

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def T1(Base, engine):
    class T1(Base):
        __tablename__ = "t1"
        col1 = Column(String(10), primary_key=True, nullable=True)
        col2 = Column(String(10), primary_key=True, nullable=True)
        col3 = Column(String(50))

    Base.metadata.create_all(engine)
    return T1


def test_expired_object_with_partial_null_key_loads(T1, session, sql_log):
    t = T1(col1="1", col2=None, col3="x")
    session.add(t)
    session.commit()
    sql_log.clear()
    assert t.col3 == "x"
    assert "t1.col2 IS NULL" in sql_log.statements[-1]


def test_setting_an_expired_key_to_its_own_value_writes_nothing(T1, session, sql_log,
                                                                 read_rows):
    t = T1(col1="1", col2=None)
    session.add(t)
    session.commit()
    t.col1 = "1"  # loads the expired row first: the key did not change
    sql_log.clear()
    session.commit()
    assert not [s for s in sql_log.statements if s.startswith("UPDATE")]
    assert read_rows(T1.__table__) == [("1", None, None)]
