"""Pending orphans as the differential tests met them (test_pending_orphans.py has
the full family): a pending object taken out of its delete-orphan parent (removed
from the collection, its many-to-one backref set to None or deleted, the collection
replaced) with no parent left leaves the session at once, as in SQLAlchemy: it is never
inserted as an orphan.  Moving it to another parent keeps it pending."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import backref, declarative_base, inspect, relationship


@pytest.fixture
def models(engine):
    Base = declarative_base()

    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        children = relationship("Child", backref="parent", cascade="all, delete-orphan",
                                order_by="Child.id")

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        code = Column(String(20))
        parent_id = Column(Integer, ForeignKey("parents.id"))

    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("nodes.id"))
        children = relationship("Node", cascade="all, delete-orphan",
                                backref=backref("parent", remote_side=[id]))

    Base.metadata.create_all(engine)
    return Parent, Child, Node


def _orphan(parent, child, how):
    if how == "remove":
        parent.children.remove(child)
    elif how == "m2o_none":
        child.parent = None
    elif how == "del_m2o":
        del child.parent
    else:
        parent.children = []


HOWS = ["remove", "m2o_none", "del_m2o", "replace_collection"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("parent_state", ["pending", "persistent"])
def test_pending_child_orphaned_leaves_the_session(models, make_session, read_rows, how,
                                                    parent_state):
    Parent, Child, _ = models
    s = make_session()
    p = Parent(id=1)
    s.add(p)
    if parent_state == "persistent":
        s.commit()
    c = Child(id=1, code="c")
    p.children.append(c)
    assert inspect(c).pending
    _orphan(p, c, how)
    assert inspect(c).transient
    assert c not in s.new
    s.commit()
    assert read_rows(Child.__table__) == []
    assert read_rows(Parent.__table__) == [(1,)]


@pytest.mark.parametrize("how", ["m2o_other", "append_other"])
def test_pending_child_moved_to_another_parent_stays_pending(models, make_session, read_rows,
                                                            how):
    Parent, Child, _ = models
    s = make_session()
    p1, p2 = Parent(id=1), Parent(id=2)
    s.add_all([p1, p2])
    c = Child(id=1, code="c")
    p1.children.append(c)
    if how == "m2o_other":
        c.parent = p2
    else:
        p2.children.append(c)
    assert inspect(c).pending
    s.commit()
    assert read_rows(Child.__table__) == [(1, "c", 2)]


def test_pending_node_orphaned_in_self_referential_tree_leaves_the_session(
        models, make_session, read_rows):
    _, _, Node = models
    s = make_session()
    root = Node(id=1)
    s.add(root)
    s.commit()
    n = Node(id=2)
    root.children.append(n)
    n.parent = None
    assert inspect(n).transient
    s.commit()
    assert read_rows(Node.__table__) == [(1, None)]


def test_persistent_child_orphaned_is_still_deleted_at_flush(models, make_session, read_rows):
    Parent, Child, _ = models
    s = make_session()
    s.add(Parent(id=1, children=[Child(id=1, code="c")]))
    s.commit()
    p = s.get(Parent, 1)
    c = p.children[0]
    c.parent = None
    assert inspect(c).persistent
    s.commit()
    assert read_rows(Child.__table__) == []
