"""viewonly relationships keep no history, and ``sync_backref`` decides whether a
change on one side of a backref pair is mirrored on the other side in memory."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, select

from datamapper import backref, clear_mappers, configure_mappers, exc, inspect, relationship


def _models(Base, engine, bs_kw, a_kw):
    class A(Base):
        __tablename__ = "vs_a"
        id = Column(Integer, primary_key=True)
        data = Column(String(20))
        bs = relationship("B", backref=backref("a", **a_kw), order_by="B.id", **bs_kw)

    class B(Base):
        __tablename__ = "vs_b"
        id = Column(Integer, primary_key=True)
        a_id = Column(Integer, ForeignKey("vs_a.id"))

    Base.metadata.create_all(engine)
    configure_mappers()
    return A, B


def test_append_to_viewonly_collection_is_not_history_and_writes_nothing(Base, engine, session):
    A, B = _models(Base, engine, {"viewonly": True}, {"viewonly": False})
    a1, b1 = A(), B()
    a1.bs.append(b1)
    assert b1.a is None  # the viewonly side never tells the writable side
    assert not inspect(a1).attrs.bs.history.has_changes()
    session.add_all([a1, b1])
    session.flush()
    assert session.execute(select(B.__table__.c.a_id)).scalars().all() == [None]

    a1.bs.remove(b1)
    assert a1 not in session.dirty
    assert b1 not in session.dirty


def test_assign_to_viewonly_reference_is_not_history_and_writes_nothing(Base, engine, session):
    A, B = _models(Base, engine, {}, {"viewonly": True})
    a1, b1 = A(), B()
    b1.a = a1
    assert b1 not in a1.bs
    assert not inspect(b1).attrs.a.history.has_changes()
    session.add_all([a1, b1])
    session.flush()
    assert session.execute(select(B.__table__.c.a_id)).scalars().all() == [None]
    b1.a = None
    assert b1 not in session.dirty


@pytest.mark.parametrize("side", ["one_to_many", "many_to_one"])
def test_sync_backref_false_leaves_the_other_side_alone(Base, engine, side):
    A, B = _models(Base, engine, {"sync_backref": False}, {"sync_backref": False})
    a1, b1 = A(), B()
    if side == "one_to_many":
        a1.bs.append(b1)
        assert b1.a is None
        assert inspect(a1).attrs.bs.history.has_changes()
    else:
        b1.a = a1
        assert a1.bs == []
        assert inspect(b1).attrs.a.history.has_changes()


def test_sync_backref_false_on_one_side_only(Base, engine):
    A, B = _models(Base, engine, {}, {"sync_backref": False})
    a1, b1 = A(), B()
    b1.a = a1
    assert a1.bs == []
    a2, b2 = A(), B()
    a2.bs.append(b2)
    assert b2.a is a2


def test_sync_backref_true_with_viewonly_is_refused():
    with pytest.raises(exc.ArgumentError, match="sync_backref=True"):
        relationship("B", viewonly=True, sync_backref=True)


def test_sync_backref_true_towards_a_viewonly_reverse_is_refused(Base, engine):
    try:
        with pytest.raises(exc.InvalidRequestError, match="A.bs with sync_backref=True"):
            _models(Base, engine, {"sync_backref": True},
                    {"viewonly": True, "sync_backref": None})
    finally:
        clear_mappers()
