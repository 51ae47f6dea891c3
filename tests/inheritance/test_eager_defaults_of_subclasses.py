"""``eager_defaults=True`` on a hierarchy's base mapper holds for its subclasses too
(as in SQLAlchemy, where the base mapper's setting rules the flush of the whole
hierarchy): a subclass object's server defaults are read back within the flush, of a
single-table subclass and of a joined-table one, on INSERT and on UPDATE."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import declarative_base


def _models(joined: bool):
    Base = declarative_base()

    class Foo(Base):
        __tablename__ = "foo"
        id = Column(Integer, primary_key=True)
        type = Column(String(20))
        created_at = Column(Integer, server_default="5")
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "foo",
                           "eager_defaults": True}

    if joined:
        class Bar(Foo):
            __tablename__ = "bar"
            id = Column(ForeignKey("foo.id"), primary_key=True)
            bar = Column(String(20))
            bat = Column(Integer, server_default="10")
            __mapper_args__ = {"polymorphic_identity": "bar"}
    else:
        class Bar(Foo):  # type: ignore[no-redef]
            bar = Column(String(20))
            bat = Column(Integer, server_default="10")
            __mapper_args__ = {"polymorphic_identity": "bar"}
    return Base, Foo, Bar


@pytest.mark.parametrize("joined", [False, True], ids=["single", "joined"])
def test_subclass_server_defaults_read_in_the_flush(engine, make_session, sql_log,
                                                    read_rows, joined):
    Base, Foo, Bar = _models(joined)
    Base.metadata.create_all(engine)
    s = make_session()
    bar = Bar(bar="b")
    s.add(bar)
    s.flush()
    # read back within the flush: in the object's state, no SQL on access
    assert bar.__dict__["created_at"] == 5
    assert bar.__dict__["bat"] == 10
    n = sql_log.count
    assert (bar.created_at, bar.bat) == (5, 10)
    assert sql_log.count == n
    s.commit()
    if joined:
        assert [r[1:] for r in read_rows(Foo.__table__)] == [("bar", 5)]
        assert [r[1:] for r in read_rows(Bar.__table__)] == [("b", 10)]
    else:
        assert [r[1:] for r in read_rows(Foo.__table__)] == [("bar", 5, "b", 10)]

def test_subclass_expression_update_read_in_the_flush(engine, make_session, sql_log,
                                                      read_rows):
    Base, Foo, Bar = _models(True)
    Base.metadata.create_all(engine)
    s = make_session()
    bar = Bar(bar="b")
    s.add(bar)
    s.flush()
    bar.bat = Bar.bat + 1
    bar.created_at = Foo.created_at + 2
    s.flush()
    n = sql_log.count
    assert (bar.bat, bar.created_at) == (11, 7)
    assert sql_log.count == n
    s.commit()
    assert [r[2] for r in read_rows(Foo.__table__)] == [7]
    assert [r[2] for r in read_rows(Bar.__table__)] == [11]
