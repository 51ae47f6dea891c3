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
