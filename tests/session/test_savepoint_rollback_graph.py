"""Rolling back a SAVEPOINT leaves relationship collections as the rows say.

Found by the graph state machine (tests/reliability/test_graph_statem.py):

- an object deleted inside the SAVEPOINT comes back expired, so a collection
  it lost members from inside the SAVEPOINT reloads them;
- a backref change queued on an unloaded collection inside a rolled-back
  SAVEPOINT is forgotten with the expiry, so a later load does not apply it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table

from datamapper import declarative_base, relationship
from datamapper.session import Session


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)
    links = Table("sr_links", metadata,
                  Column("p", Integer, ForeignKey("sr_parents.id"), primary_key=True),
                  Column("t", Integer, ForeignKey("sr_tags.id"), primary_key=True))

    class Parent(Base):
        __tablename__ = "sr_parents"
        id = Column(Integer, primary_key=True, autoincrement=False)
        children = relationship("Child", cascade="all, delete-orphan", backref="parent")
        tags = relationship("Tag", secondary=links, backref="parents")

    class Child(Base):
        __tablename__ = "sr_children"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("sr_parents.id"), nullable=False)

    class Tag(Base):
        __tablename__ = "sr_tags"
        id = Column(Integer, primary_key=True, autoincrement=False)

    metadata.create_all(engine)
    return Parent, Child, Tag


def test_parent_deleted_inside_savepoint_reloads_its_children(engine, models, read_rows):
    Parent, Child, _Tag = models
    s = Session(engine)
    p = Parent(id=1, children=[Child(id=2)])
    s.add(p)
    c = p.children[0]
    sp = s.begin_nested()
    p.children.remove(c)
    s.delete(p)
    s.flush()
    sp.rollback()
    assert "children" not in p.__dict__
    assert p.children == [c] and c.parent is p
    s.commit()
    assert read_rows(Child.__table__) == [(2, 1)]


def test_backref_queued_in_rolled_back_savepoint_is_not_applied_later(engine, models,
                                                                      read_rows):
    Parent, _Child, Tag = models
    s = Session(engine)
    t, p = Tag(id=1), Parent(id=2)
    s.add_all([t, p])
    sp = s.begin_nested()
    p.tags.append(t)
    sp.rollback()
    sp = s.begin_nested()
    s.delete(t)
    s.flush()
    sp.rollback()
    assert t.parents == [] and p.tags == []
    s.commit()
    assert read_rows("SELECT p, t FROM sr_links") == []
    assert read_rows(Tag.__table__) == [(1,)]
