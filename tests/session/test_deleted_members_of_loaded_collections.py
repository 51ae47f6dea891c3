"""Loaded collections that still hold a row an earlier flush deleted.

Deleting an object does not take it out of other objects' loaded collections
(as in SQLAlchemy).  Such a member must not break later work on the parent:

- attaching a new object: its save-update cascade stops at objects the session
  already holds, so it never reaches the deleted one;
- deleting the parent, or removing the member from the collection: the flush
  writes nothing for the member (no UPDATE of its foreign key, no second
  DELETE of it or its association rows) instead of failing with StaleDataError.

Found by the graph state machine (tests/reliability/test_graph_statem.py).  An
explicit ``add()`` of the parent still walks its collection and refuses the
deleted member, as SQLAlchemy does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import backref, declarative_base, relationship
from datamapper.exc import InvalidRequestError
from datamapper.session import Session


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)
    links = Table("cp_links", metadata,
                  Column("p", Integer, ForeignKey("cp_parents.id"), primary_key=True),
                  Column("t", Integer, ForeignKey("cp_tags.id"), primary_key=True))

    class Parent(Base):
        __tablename__ = "cp_parents"
        id = Column(Integer, primary_key=True, autoincrement=False)
        children = relationship("Child", cascade="all, delete-orphan", backref="parent")
        plain = relationship("Plain")
        tags = relationship("Tag", secondary=links, backref="parents")

    class Child(Base):
        __tablename__ = "cp_children"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("cp_parents.id"))

    class Plain(Base):  # one-to-many without delete cascade: nulled when the parent goes
        __tablename__ = "cp_plain"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("cp_parents.id"))

    class Tag(Base):
        __tablename__ = "cp_tags"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(10))

    class Node(Base):
        __tablename__ = "cp_nodes"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("cp_nodes.id"))
        children = relationship("Node", cascade="all",
                                backref=backref("parent", remote_side=[id]))

    metadata.create_all(engine)
    Parent.Plain = Plain
    return Parent, Child, Tag, Node


def test_append_to_tree_node_whose_children_hold_a_deleted_node(engine, models, read_rows):
    _P, _C, _T, Node = models
    s = Session(engine)
    root, gone = Node(id=1), Node(id=2)
    root.children.append(gone)
    s.add(root)
    s.flush()
    s.delete(gone)
    s.flush()
    root.children.append(Node(id=3))
    s.commit()
    assert read_rows(Node.__table__) == [(1, None), (3, 1)]


def test_backref_set_to_parent_whose_collection_holds_a_deleted_child(engine, models, read_rows):
    Parent, Child, _T, _N = models
    s = Session(engine)
    p = Parent(id=1, children=[Child(id=1), Child(id=2)])
    s.add(p)
    s.flush()
    s.delete(p.children[0])
    s.flush()
    Child(id=3).parent = p  # backref appends, cascades the new child into the session
    s.commit()
    assert read_rows(Child.__table__) == [(2, 1), (3, 1)]


def test_many_to_many_append_past_a_deleted_tag(engine, models, read_rows):
    Parent, _C, Tag, _N = models
    s = Session(engine)
    p = Parent(id=1, tags=[Tag(id=1, name="a")])
    s.add(p)
    s.flush()
    s.delete(p.tags[0])
    s.flush()
    p.tags.append(Tag(id=2, name="b"))
    s.commit()
    assert read_rows(Tag.__table__) == [(2, "b")]
    assert read_rows("SELECT p, t FROM cp_links") == [(1, 2)]


def test_explicit_add_of_parent_holding_a_deleted_child_names_it(engine, models, read_rows):
    Parent, Child, _T, _N = models
    s = Session(engine)
    p = Parent(id=1, children=[Child(id=1)])
    s.add(p)
    s.flush()
    s.delete(p.children[0])
    s.flush()
    with pytest.raises(InvalidRequestError, match="Child.*deleted.*make_transient"):
        s.add(p)
    s.rollback()
    s.close()
    assert read_rows(Child.__table__) == []


def _two_flushes(s, parent, gone):
    s.add(parent)
    s.flush()
    s.delete(gone)
    s.flush()


def test_deleting_tree_node_whose_children_hold_a_deleted_node(engine, models, read_rows,
                                                               sql_log):
    _P, _C, _T, Node = models
    s = Session(engine)
    root, gone, kept = Node(id=1), Node(id=2), Node(id=3)
    root.children.append(gone)
    _two_flushes(s, root, gone)
    root.children.append(kept)
    s.flush()
    sql_log.clear()
    s.delete(root)
    s.commit()
    assert read_rows(Node.__table__) == []
    assert not [q for q in sql_log.statements if "UPDATE" in q]


@pytest.mark.parametrize("how", ["delete_parent", "remove_member"])
def test_one_to_many_delete_orphan_with_a_deleted_child(engine, models, read_rows, how):
    Parent, Child, _T, _N = models
    s = Session(engine)
    p = Parent(id=1, children=[Child(id=1), Child(id=2)])
    _two_flushes(s, p, p.children[0])
    if how == "delete_parent":
        s.delete(p)
    else:
        p.children.remove(p.children[0])
    s.commit()
    want = [] if how == "delete_parent" else [(2, 1)]
    assert read_rows(Child.__table__) == want


@pytest.mark.parametrize("how", ["delete_parent", "remove_member"])
def test_one_to_many_without_cascade_with_a_deleted_child(engine, models, read_rows, how):
    Parent, _C, _T, _N = models
    Plain = Parent.Plain
    s = Session(engine)
    p = Parent(id=1, plain=[Plain(id=1), Plain(id=2)])
    _two_flushes(s, p, p.plain[0])
    if how == "delete_parent":
        s.delete(p)
    else:
        p.plain.remove(p.plain[0])
    s.commit()
    want = [(2, None)] if how == "delete_parent" else [(2, 1)]
    assert read_rows(Plain.__table__) == want


@pytest.mark.parametrize("how", ["delete_parent", "remove_member"])
def test_many_to_many_with_a_deleted_tag(engine, models, read_rows, how):
    Parent, _C, Tag, _N = models
    s = Session(engine)
    p = Parent(id=1, tags=[Tag(id=1, name="a"), Tag(id=2, name="b")])
    _two_flushes(s, p, p.tags[0])
    if how == "delete_parent":
        s.delete(p)
    else:
        p.tags.remove(p.tags[0])
    s.commit()
    assert read_rows(Tag.__table__) == [(2, "b")]
    want = [] if how == "delete_parent" else [(1, 2)]
    assert read_rows("SELECT p, t FROM cp_links") == want
