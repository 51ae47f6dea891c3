"""``eager_defaults=True``: the values the database gives a row in the flush (server
defaults on INSERT, SQL expressions written by an UPDATE) are read back within the
flush, so reading them afterwards emits no SQL, and the refresh_flush event names them
(before the values computed in Python).  Without it they are expired and load on
access."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import event


@pytest.fixture
def Gauge(Base, engine, request):
    class Gauge(Base):
        __tablename__ = "gauges"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        level = Column(Integer, server_default="7")
        local = Column(Integer, default=3)
        __mapper_args__ = {"eager_defaults": request.param}

    Base.metadata.create_all(engine)
    return Gauge


@pytest.mark.parametrize("Gauge", [True, False], indirect=True, ids=["eager", "lazy"])
@pytest.mark.parametrize("count", [1, 3])
def test_server_default_read_in_the_flush(Gauge, make_session, sql_log, read_rows, count):
    eager = Gauge.__mapper__.eager_defaults
    seen = []
    event.listen(Gauge, "refresh_flush", lambda t, ctx, attrs: seen.append((t, attrs)))
    s = make_session()
    gs = [Gauge(name=f"g{i}") for i in range(count)]
    s.add_all(gs)
    s.flush()
    n = sql_log.count
    assert [g.level for g in gs] == [7] * count
    assert (sql_log.count == n) is eager  # read in the flush, or loaded now
    assert seen == [(g, ["level", "local"] if eager else ["local"]) for g in gs]
    s.commit()
    assert [r[2:] for r in read_rows(Gauge.__table__)] == [(7, 3)] * count


@pytest.mark.parametrize("Gauge", [True], indirect=True, ids=["eager"])
def test_sql_expression_of_an_update_read_in_the_flush(Gauge, make_session, sql_log,
                                                       read_rows):
    s = make_session()
    g = Gauge(name="g", level=1)
    s.add(g)
    s.flush()
    seen = []
    event.listen(Gauge, "refresh_flush", lambda t, ctx, attrs: seen.append(attrs))
    g.level = Gauge.level + 10
    s.flush()
    n = sql_log.count
    assert g.level == 11
    assert sql_log.count == n
    assert seen == [["level"]]
    s.commit()
    assert [r[2] for r in read_rows(Gauge.__table__)] == [11]


def test_joined_inheritance_reads_each_table(Base, engine, make_session, sql_log):
    class Part(Base):
        __tablename__ = "parts"
        id = Column(Integer, primary_key=True)
        kind = Column(String(20))
        stock = Column(Integer, server_default="4")
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "part",
                           "eager_defaults": True}

    class Bolt(Part):
        __tablename__ = "bolts"
        id = Column(Integer, ForeignKey("parts.id"), primary_key=True)
        size = Column(Integer, server_default="9")
        __mapper_args__ = {"polymorphic_identity": "bolt", "eager_defaults": True}

    Base.metadata.create_all(engine)
    s = make_session()
    b = Bolt()
    s.add(b)
    s.flush()
    n = sql_log.count
    assert (b.stock, b.size) == (4, 9)
    assert sql_log.count == n
