"""After a flush fails and the session is rolled back, objects the program let go
of are released without leaving dead entries behind: the session goes on working,
and what it held only because of changes is dropped by the weak identity map."""

import gc

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import exc, relationship


@pytest.fixture
def models(Base, engine):
    parent_tags = Table(
        "parent_tags", Base.metadata,
        Column("parent_id", Integer, ForeignKey("parents.id"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True),
    )

    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        children = relationship("Child", backref="parent", cascade="all, delete-orphan",
                                order_by="Child.id")
        tags = relationship("Tag", secondary=parent_tags, order_by="Tag.id")

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        code = Column(String(20), unique=True)
        parent_id = Column(Integer, ForeignKey("parents.id"))

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)

    Base.metadata.create_all(engine)
    return Parent, Child, Tag


@pytest.fixture
def seeded(models, make_session):
    Parent, Child, Tag = models
    s = make_session()
    s.add_all([
        Parent(id=1, name="p1", children=[Child(id=1, code="c1"), Child(id=2, code="c2")],
               tags=[Tag(id=1), Tag(id=2)]),
        Parent(id=2, name="p2", children=[Child(id=3, code="c3")]),
    ])
    s.commit()
    s.close()
    return models


def _fail_flush(session, Child):
    """A new row that breaks the unique constraint on children.code."""
    session.add(Child(id=99, code="c3"))
    with pytest.raises(exc.IntegrityError):
        session.flush()
    session.rollback()


def test_session_works_after_failed_flush_with_orphan_and_rollback(seeded, session, read_rows):
    Parent, Child, _tag = seeded
    p = session.get(Parent, 1)
    p.children.remove(p.children[0])  # child 1: an orphan the flush deletes
    _fail_flush(session, Child)
    del p
    gc.collect()
    session.add(Parent(id=3, name="p3"))
    session.get(Parent, 2).name = "renamed"
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p1"), (2, "renamed"), (3, "p3")]
    assert read_rows(Child.__table__) == [(1, "c1", 1), (2, "c2", 1), (3, "c3", 2)]


def test_orphan_removal_can_be_redone_after_failed_flush(seeded, session, read_rows):
    Parent, Child, _tag = seeded
    p = session.get(Parent, 1)
    p.children.pop(0)
    _fail_flush(session, Child)
    assert [c.id for c in p.children] == [1, 2]
    p.children.pop(0)
    del p
    gc.collect()
    session.commit()
    assert read_rows(Child.__table__) == [(2, "c2", 1), (3, "c3", 2)]


def test_states_held_for_changes_are_released_by_rollback(seeded, session):
    Parent, Child, Tag = seeded
    p1, p2 = session.get(Parent, 1), session.get(Parent, 2)
    p1.name = "changed"
    p1.children.pop()
    p1.tags.pop()
    p2.children[0].code = "changed"
    session.delete(session.get(Tag, 2))
    session.flush()
    session.rollback()
    del p1, p2
    gc.collect()
    assert len(session.identity_map) == 0
    assert not session.dirty and not session.deleted and not session.new


def test_states_held_for_changes_are_released_after_failed_flush(seeded, session):
    Parent, Child, _tag = seeded
    p1 = session.get(Parent, 1)
    p1.name = "changed"
    p1.children.pop()
    session.get(Child, 3).code = "renamed"
    _fail_flush(session, Child)
    del p1
    gc.collect()
    assert len(session.identity_map) == 0
    session.add(Parent(id=5, name="p5"))
    session.commit()
    assert session.get(Parent, 5).name == "p5"


def test_failed_flush_in_savepoint_with_orphan_then_outer_commit(seeded, session, read_rows):
    Parent, Child, _tag = seeded
    p = session.get(Parent, 2)
    p.name = "outer"
    session.flush()
    sp = session.begin_nested()
    p.children.pop()
    session.add(Child(id=99, code="c1"))
    with pytest.raises(exc.IntegrityError):
        session.flush()
    sp.rollback()
    del p
    gc.collect()
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p1"), (2, "outer")]
    assert read_rows(Child.__table__) == [(1, "c1", 1), (2, "c2", 1), (3, "c3", 2)]


def test_failed_flush_with_orphan_in_strong_identity_map(seeded, make_session, read_rows):
    Parent, Child, _tag = seeded
    s = make_session(weak_identity_map=False)
    p = s.get(Parent, 1)
    p.children.pop(0)
    _fail_flush(s, Child)
    del p
    gc.collect()
    s.add(Parent(id=3, name="p3"))
    s.commit()
    assert read_rows(Parent.__table__) == [(1, "p1"), (2, "p2"), (3, "p3")]
    assert len(s.identity_map) >= 3
