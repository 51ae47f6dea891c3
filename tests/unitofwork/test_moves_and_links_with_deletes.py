"""Deleting an object while other, unflushed changes involve it.

Found by the graph state machine (tests/reliability/test_graph_statem.py):

- a child moved to another parent through its many-to-one, then its old parent
  deleted: the delete cascade loads the old parent's children after an
  autoflush (as any lazy load does), so the moved child is not deleted with its
  old parent;
- an object appended to a many-to-many collection, with the object on either
  side deleted before the flush: no association row is written for it (and no
  DELETE is sent for a row that was never inserted).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table

from datamapper import declarative_base, relationship
from datamapper.session import Session


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)
    links = Table("ml_links", metadata,
                  Column("p", Integer, ForeignKey("ml_parents.id"), primary_key=True),
                  Column("t", Integer, ForeignKey("ml_tags.id"), primary_key=True))

    class Parent(Base):
        __tablename__ = "ml_parents"
        id = Column(Integer, primary_key=True, autoincrement=False)
        children = relationship("Child", cascade="all, delete-orphan", backref="parent")
        plain = relationship("Plain", backref="parent")
        tags = relationship("Tag", secondary=links, backref="parents")

    class Child(Base):
        __tablename__ = "ml_children"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("ml_parents.id"), nullable=False)

    class Plain(Base):
        __tablename__ = "ml_plain"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("ml_parents.id"))

    class Tag(Base):
        __tablename__ = "ml_tags"
        id = Column(Integer, primary_key=True, autoincrement=False)

    metadata.create_all(engine)
    return Parent, Child, Plain, Tag


@pytest.mark.parametrize("child_expired", [True, False])
@pytest.mark.parametrize("new_parent_pending", [True, False])
def test_child_moved_away_survives_delete_of_its_old_parent(
        engine, models, read_rows, child_expired, new_parent_pending):
    Parent, Child, _Plain, _Tag = models
    s = Session(engine)
    c = Child(id=10)
    old = Parent(id=1, children=[c])
    s.add(old)
    if not new_parent_pending:
        s.add(Parent(id=2))
    s.commit()
    new = Parent(id=2) if new_parent_pending else s.get(Parent, 2)
    if new_parent_pending:
        s.add(new)
    if not child_expired:
        assert c.parent_id == 1
    c.parent = new
    s.delete(old)
    s.commit()
    assert read_rows(Child.__table__) == [(10, 2)]
    assert read_rows(Parent.__table__) == [(2,)]


def test_plain_child_moved_away_keeps_its_new_parent_when_old_is_deleted(
        engine, models, read_rows):
    Parent, _Child, Plain, _Tag = models
    s = Session(engine)
    x = Plain(id=10)
    s.add_all([Parent(id=1, plain=[x]), Parent(id=2)])
    s.commit()
    x.parent = s.get(Parent, 2)
    s.delete(s.get(Parent, 1))
    s.commit()
    assert read_rows(Plain.__table__) == [(10, 2)]


@pytest.mark.parametrize("deleted_side", ["parent", "tag"])
@pytest.mark.parametrize("append_from", ["parent", "tag"])
def test_no_association_row_to_an_object_deleted_in_the_same_flush(
        engine, models, read_rows, sql_log, deleted_side, append_from):
    Parent, _Child, _Plain, Tag = models
    s = Session(engine)
    p, t = Parent(id=1), Tag(id=5)
    s.add_all([p, t])
    s.commit()
    with s.no_autoflush:
        if append_from == "parent":
            p.tags.append(t)
        else:
            t.parents.append(p)
        s.delete(p if deleted_side == "parent" else t)
    sql_log.clear()
    s.commit()
    assert read_rows("SELECT p, t FROM ml_links") == []
    assert not [q for q in sql_log.statements if "ml_links" in q and "SELECT" not in q]
    if deleted_side == "parent":
        assert read_rows(Tag.__table__) == [(5,)] and read_rows(Parent.__table__) == []
    else:
        assert read_rows(Tag.__table__) == [] and read_rows(Parent.__table__) == [(1,)]


def test_new_tag_linked_to_a_parent_deleted_before_the_flush(engine, models, read_rows):
    Parent, _Child, _Plain, Tag = models
    s = Session(engine)
    p = Parent(id=1)
    s.add(p)
    s.commit()
    t = Tag(id=5)
    s.add(t)
    with s.no_autoflush:
        p.tags.append(t)
        s.delete(p)
    s.commit()
    assert read_rows("SELECT p, t FROM ml_links") == []
    assert read_rows(Tag.__table__) == [(5,)]
