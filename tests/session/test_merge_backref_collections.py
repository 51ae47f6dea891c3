"""merge() walks along a relationship but not back along its backref: an object
reached through ``Child.parent`` keeps the parent's collection as the database has it,
even though the source parent holds (by the backref) only the child merged.

Before, merging ``Child(id=5, parent=Parent(id=1))`` replaced parent 1's children with
``[child 5]``: the parent's other children lost their foreign key, or were deleted
under delete-orphan; a many-to-many association lost its other rows."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import relationship


@pytest.fixture
def models(Base, engine):
    assoc = Table("parent_tags", Base.metadata,
                 Column("parent_id", ForeignKey("parents.id"), primary_key=True),
                 Column("tag_id", ForeignKey("tags.id"), primary_key=True))

    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        children = relationship("Child", back_populates="parent",
                                cascade="all, delete-orphan", order_by="Child.id")
        plain = relationship("Plain", back_populates="parent", order_by="Plain.id")
        notes = relationship("Note", back_populates="parent", lazy="dynamic")
        tags = relationship("Tag", secondary=assoc, back_populates="parents")

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("parents.id"))
        name = Column(String(20))
        parent = relationship("Parent", back_populates="children")

    class Plain(Base):
        __tablename__ = "plains"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("parents.id"))
        parent = relationship("Parent", back_populates="plain")

    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("parents.id"))
        parent = relationship("Parent", back_populates="notes")

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        parents = relationship("Parent", secondary=assoc, back_populates="tags")

    Base.metadata.create_all(engine)
    return Parent, Child, Plain, Note, Tag, assoc


@pytest.fixture
def stored(models, make_session):
    Parent, Child, Plain, Note, Tag, _ = models
    s = make_session()
    t1, t2 = Tag(id=1, name="t1"), Tag(id=2, name="t2")
    s.add_all([
        Parent(id=1, name="p1", children=[Child(id=1, name="c1"), Child(id=2, name="c2")],
               plain=[Plain(id=1), Plain(id=2)], notes=[Note(id=1), Note(id=2)],
               tags=[t1, t2]),
        Parent(id=2, name="p2", children=[Child(id=3, name="c3")], tags=[t1]),
    ])
    s.commit()
    s.close()


def test_merge_new_child_with_parent_keeps_the_parents_other_children(
        models, stored, make_session, read_rows):
    Parent, Child, *_ = models
    s = make_session()
    merged = s.merge(Child(id=5, name="c5", parent=Parent(id=1, name="p1b")))
    assert [c.id for c in merged.parent.children] == [1, 2, 5]
    s.commit()
    assert read_rows(Child.__table__) == [(1, 1, "c1"), (2, 1, "c2"), (3, 2, "c3"),
                                          (5, 1, "c5")]
    assert read_rows(Parent.__table__) == [(1, "p1b"), (2, "p2")]


def test_merge_of_detached_child_moved_to_new_parent_keeps_that_parents_children(
        models, stored, make_session, read_rows):
    Parent, Child, *_ = models
    s = make_session(expire_on_commit=False)
    c1 = s.get(Child, 1)
    s.close()
    c1.parent = Parent(id=2)  # a stand-in for parent 2: its backref holds only c1
    s2 = make_session()
    s2.merge(c1)
    s2.commit()
    assert read_rows(Child.__table__) == [(1, 2, "c1"), (2, 1, "c2"), (3, 2, "c3")]


def test_merge_keeps_other_members_without_delete_orphan(models, stored, make_session,
                                                         read_rows):
    Parent, _, Plain, *_ = models
    s = make_session()
    s.merge(Plain(id=3, parent=Parent(id=1)))
    s.commit()
    assert read_rows(Plain.__table__) == [(1, 1), (2, 1), (3, 1)]


def test_merge_keeps_other_members_of_a_dynamic_collection(models, stored, make_session,
                                                            read_rows):
    Parent, _, _, Note, *_ = models
    s = make_session()
    s.merge(Note(id=3, parent=Parent(id=1)))
    s.commit()
    assert read_rows(Note.__table__) == [(1, 1), (2, 1), (3, 1)]


def test_merge_of_many_to_many_member_keeps_its_other_associations(models, stored,
                                                                   make_session, read_rows):
    Parent, _, _, _, Tag, tags = models
    s = make_session()
    # tag 2 (of parent 1) given to parent 2: tag 2's backref holds only parent 2
    s.merge(Parent(id=2, tags=[Tag(id=1), Tag(id=2, name="t2b")]))
    s.commit()
    assert read_rows(tags) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert read_rows(Tag.__table__) == [(1, "t1"), (2, "t2b")]


def test_merge_of_the_parent_still_replaces_its_own_collection(models, stored, make_session,
                                                               read_rows):
    """The collection of the object merged is the source's to say: children it does not
    hold leave it (and delete-orphan deletes them)."""
    Parent, Child, *_ = models
    s = make_session()
    s.merge(Parent(id=1, children=[Child(id=2, name="c2b")]))
    s.commit()
    assert read_rows(Child.__table__) == [(2, 1, "c2b"), (3, 2, "c3")]


def test_merge_of_one_to_one_member_through_its_backref_replaces_the_old_one(
        Base, engine, make_session, read_rows):
    """uselist=False: the parent holds one child, so the merged child takes the place of
    the stored one (delete-orphan deletes it), as an assignment would."""
    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)
        card = relationship("Card", back_populates="owner", uselist=False,
                            cascade="all, delete-orphan")

    class Card(Base):
        __tablename__ = "cards"
        id = Column(Integer, primary_key=True)
        owner_id = Column(ForeignKey("owners.id"))
        owner = relationship("Owner", back_populates="card")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Owner(id=1, card=Card(id=1)))
    s.commit()
    s.close()
    s = make_session()
    s.merge(Card(id=2, owner=Owner(id=1)))
    s.commit()
    assert read_rows(Card.__table__) == [(2, 1)]


def test_merge_of_member_whose_parent_has_a_write_only_collection(Base, engine,
                                                                 make_session, read_rows):
    """The parent's write-only collection holds the merged member only by the backref:
    it is left alone, so merge does not refuse it as a changed write-only collection."""
    class Feed(Base):
        __tablename__ = "feeds"
        id = Column(Integer, primary_key=True)
        items = relationship("Item", back_populates="feed", lazy="write_only")

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        feed_id = Column(ForeignKey("feeds.id"))
        feed = relationship("Feed", back_populates="items")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Feed(id=1), Item(id=1, feed_id=1)])
    s.commit()
    s.close()
    s = make_session()
    s.merge(Item(id=2, feed=Feed(id=1)))
    s.commit()
    assert read_rows(Item.__table__) == [(1, 1), (2, 1)]


def test_merge_all_merges_the_collection_of_each_object_given(models, stored, make_session,
                                                              read_rows):
    """An object given to merge_all() has all of it merged, even when another object
    given before it reaches it through a backref first."""
    Parent, Child, *_ = models
    p1 = Parent(id=1, name="p1b")
    c2 = Child(id=2, name="c2b")
    p1.children = [c2]  # c2.parent is p1 (backref); child 1 is no longer p1's
    s = make_session()
    s.merge_all([c2, p1])
    s.commit()
    assert read_rows(Child.__table__) == [(2, 1, "c2b"), (3, 2, "c3")]
