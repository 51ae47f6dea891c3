"""A read-only ``column_property`` built from a SQL expression is computed by the
database: after a flush UPDATEs the row its loaded value is stale, so the flush
expires it (``expire_on_flush=True``, the default) and the next read SELECTs it
again.  ``expire_on_flush=False`` keeps the loaded value; a value the program set
itself is kept either way."""

import pytest
from sqlalchemy import Column, Integer, String, literal_column

from datamapper import column_property, inspect


def _model(Base, engine, **kw):
    class Data(Base):
        __tablename__ = "data"
        id = Column(Integer, primary_key=True)
        a = Column(String(50))
        b = Column(String(50))
        aplusb = column_property(a + literal_column("' '") + b, **kw)

    Base.metadata.create_all(engine)
    return Data


@pytest.mark.parametrize("deferred", [False, True])
def test_update_expires_loaded_expression_property(Base, engine, session, sql_log, deferred):
    Data = _model(Base, engine, deferred=deferred)
    d = Data(a="hello", b="there")
    session.add(d)
    session.flush()
    assert d.aplusb == "hello there"
    d.b = "bye"
    session.flush()
    assert "aplusb" in inspect(d).expired_attributes
    assert "aplusb" not in d.__dict__
    sql_log.clear()
    assert d.aplusb == "hello bye"  # read from the database again
    assert len(sql_log.matching("SELECT")) == 1


def test_expire_on_flush_false_keeps_loaded_value(Base, engine, session, sql_log):
    Data = _model(Base, engine, expire_on_flush=False)
    d = Data(a="hello", b="there")
    session.add(d)
    session.flush()
    assert d.aplusb == "hello there"
    d.b = "bye"
    session.flush()
    sql_log.clear()
    assert d.aplusb == "hello there"
    assert sql_log.count == 0


def test_value_set_by_program_survives_flush(Base, engine, session, read_rows):
    Data = _model(Base, engine)
    d = Data(a="hello", b="there")
    session.add(d)
    session.flush()
    assert d.aplusb == "hello there"
    d.b = "foobar"
    d.aplusb = "set explicitly"
    session.flush()
    assert d.aplusb == "set explicitly"
    session.commit()
    assert read_rows(Data.__table__) == [(d.id, "hello", "foobar")]

