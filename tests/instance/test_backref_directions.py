"""Two relationships named as each other's reverse must run opposite ways: a
one-to-many with a many-to-one (self-referential pairs need remote_side= on the
many-to-one side); same-direction pairs are refused when mappers are configured."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, select

from datamapper import clear_mappers, configure_mappers, exc, relationship


def _node(Base, children_kw, parent_kw):
    class Node(Base):
        __tablename__ = "bd_nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("bd_nodes.id"))
        children = relationship("Node", back_populates="parent", **children_kw)
        parent = relationship("Node", back_populates="children", **parent_kw)

    return Node


@pytest.mark.parametrize("remote_on", ["neither", "both"])
def test_same_direction_reverse_pair_is_refused(Base, remote_on):
    kw = {"remote_side": "Node.id"} if remote_on == "both" else {}
    _node(Base, kw, kw)
    try:
        with pytest.raises(exc.ArgumentError, match="both are (one-to-many|many-to-one)"):
            configure_mappers()
    finally:
        clear_mappers()


def test_opposite_directions_configure_and_flush(Base, engine, session):
    Node = _node(Base, {}, {"remote_side": "Node.id"})
    Base.metadata.create_all(engine)
    root = Node(id=1)
    root.children.append(Node(id=2))
    session.add(root)
    session.commit()
    t = Node.__table__
    assert session.execute(select(t.c.id, t.c.parent_id).order_by(t.c.id)).all() == [
        (1, None), (2, 1)]


@pytest.mark.parametrize("legacy", [False, True])
def test_one_to_one_replaced_while_unloaded_clears_the_old_row(Base, engine, session,
                                                                read_rows, sql_log, legacy):
    """A one-to-one (one-to-many with uselist=False) set to None while not loaded:
    the flush clears the old child's key either way; SQLAlchemy 1.3's history style
    (``_legacy_inactive_history_style=True``) loads the old child at assignment, so
    its backref is cleared before the flush (datamapper loads it at assignment in
    both styles: the flush needs it)."""
    class Jack(Base):
        __tablename__ = "jack"
        id = Column(Integer, primary_key=True)
        port = relationship("Port", backref="jack", uselist=False,
                            _legacy_inactive_history_style=legacy)

    class Port(Base):
        __tablename__ = "port"
        id = Column(Integer, primary_key=True)
        jack_id = Column(Integer, ForeignKey("jack.id"))

    Base.metadata.create_all(engine)
    session.add(Jack(id=1, port=Port(id=7)))
    session.commit()
    session.expunge_all()
    j, p = session.get(Jack, 1), session.get(Port, 7)
    sql_log.clear()
    j.port = None
    if legacy:
        assert any("FROM port" in s for s in sql_log.statements)
        assert p.__dict__.get("jack", "missing") is None
    session.commit()
    assert p.jack is None
    assert read_rows("SELECT id, jack_id FROM port") == [(7, None)]
