"""``any()`` / ``has()`` of a self-referential relationship: the related row is read
from an alias of the table, and the criterion names the related row
(``Node.children.any(Node.data == "n12")`` is "has a child n12"); before, the
EXISTS read the parent's own row (``nodes.id = nodes.parent_id``) and matched
nothing."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import DeclarativeBase, relationship


@pytest.fixture
def nodes(engine, make_session):
    class Base(DeclarativeBase):
        pass

    links = Table("sr_links", Base.metadata,
                  Column("left_id", ForeignKey("sr_nodes.id"), primary_key=True),
                  Column("right_id", ForeignKey("sr_nodes.id"), primary_key=True))

    class Node(Base):
        __tablename__ = "sr_nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("sr_nodes.id"))
        data = Column(String(30))
        children = relationship("Node", back_populates="parent", order_by="Node.id")
        parent = relationship("Node", back_populates="children", remote_side=[id])
        linked = relationship("Node", secondary=links, primaryjoin=id == links.c.left_id,
                              secondaryjoin=id == links.c.right_id, order_by="Node.id")

    Base.metadata.create_all(engine)
    s = make_session()
    n1 = Node(id=1, data="n1", children=[
        Node(id=2, data="n11"),
        Node(id=3, data="n12", children=[Node(id=4, data="n121"), Node(id=5, data="n122")])])
    s.add(n1)
    s.flush()
    n1.linked = [s.get(Node, 2), s.get(Node, 3)]
    s.get(Node, 3).linked = [s.get(Node, 5)]
    s.commit()
    s.close()
    return Node


def _data(s, Node, crit):
    return [n.data for n in s.query(Node).filter(crit).order_by(Node.id)]


def test_one_to_many_any_names_the_child(nodes, make_session):
    Node = nodes
    s = make_session()
    assert _data(s, Node, Node.children.any(Node.data == "n12")) == ["n1"]
    assert _data(s, Node, Node.children.any(data="n121")) == ["n12"]
    assert _data(s, Node, Node.children.any(Node.data == "n1")) == []
    assert _data(s, Node, ~Node.children.any()) == ["n11", "n121", "n122"]


def test_many_to_one_has_names_the_parent(nodes, make_session):
    Node = nodes
    s = make_session()
    assert _data(s, Node, Node.parent.has(Node.data == "n12")) == ["n121", "n122"]
    assert _data(s, Node, Node.parent.has(Node.data == "n122")) == []
    assert _data(s, Node, ~Node.parent.has()) == ["n1"]


def test_self_referential_many_to_many_any_names_the_linked_row(nodes, make_session):
    Node = nodes
    s = make_session()
    assert _data(s, Node, Node.linked.any(Node.data == "n12")) == ["n1"]
    assert _data(s, Node, Node.linked.any(Node.data == "n122")) == ["n12"]
    assert _data(s, Node, Node.linked.any()) == ["n1", "n12"]
    stmt = sa.select(Node.data).where(Node.linked.any(Node.id > 2)).order_by(Node.data)
    assert s.execute(stmt).scalars().all() == ["n1", "n12"]
