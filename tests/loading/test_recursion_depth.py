"""``selectinload(Node.children, recursion_depth=n)`` / ``immediateload(...)``: a
self-referential relationship loads for the loaded objects too, ``n`` levels below the
first (-1: until the tree ends), with one SELECT per level for selectinload."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import immediateload, relationship, select, selectinload
from datamapper.exc import ArgumentError, InvalidRequestError


@pytest.fixture
def Node(Base, engine, make_session):
    class Node(Base):
        __tablename__ = "rd_nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("rd_nodes.id"))
        name = Column(String(20))
        children = relationship("Node", order_by="Node.id")

    class Leaf(Base):
        __tablename__ = "rd_leaves"
        id = Column(Integer, primary_key=True)
        node_id = Column(Integer, ForeignKey("rd_nodes.id"))

    Node.leaves = relationship(Leaf)
    Base.metadata.create_all(engine)
    s = make_session()
    # a chain 1 -> 2 -> ... -> 8, and 1 also has child 9
    s.add_all([Node(id=i, parent_id=i - 1 if i > 1 else None, name=f"n{i}") for i in range(1, 9)])
    s.add(Node(id=9, parent_id=1, name="n9"))
    s.commit()
    s.close()
    return Node


def _levels_loaded(node):
    levels = 0
    frontier = [node]
    while frontier and all("children" in n.__dict__ for n in frontier):
        levels += 1
        frontier = [c for n in frontier for c in n.__dict__["children"]]
    return levels


@pytest.mark.parametrize("loader", [selectinload, immediateload], ids=lambda f: f.__name__)
@pytest.mark.parametrize("depth,levels", [(0, 1), (1, 2), (3, 4), (-1, 8)])
def test_depth_loads_that_many_more_levels(Node, make_session, sql_log, loader, depth, levels):
    s = make_session()
    sql_log.clear()
    root = s.scalars(select(Node).where(Node.id == 1)
                     .options(loader(Node.children, recursion_depth=depth))).one()
    selects = len(sql_log.matching("SELECT"))
    assert _levels_loaded(root) == levels
    if loader is selectinload:
        # the root's query, then one per level (the last level finds no children)
        assert selects == 1 + min(levels + (1 if depth == -1 else 0), 8)
    sql_log.clear()
    n = root
    for _ in range(levels - 1):
        n = n.children[0]
    assert n.name == f"n{levels}"
    assert sql_log.count == 0  # every loaded level is there without SQL


def test_depth_is_refused_for_a_relationship_to_another_class(Node, make_session):
    s = make_session()
    with pytest.raises(InvalidRequestError, match="recursion_depth .*Node.leaves"):
        s.scalars(select(Node).options(selectinload(Node.leaves, recursion_depth=-1))).all()
    with pytest.raises(ArgumentError, match="recursion_depth=-2"):
        selectinload(Node.children, recursion_depth=-2)
