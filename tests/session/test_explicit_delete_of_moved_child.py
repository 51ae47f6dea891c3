"""An object given to session.delete() is deleted even when, before the flush, it is
moved to (or appended to) another parent: the flush no longer turns the DELETE into an
UPDATE of its foreign key (the row survived, pointing at the new parent).

Only an object that a delete cascade marked (its parent was deleted) and that a
surviving parent took in is kept (see test_moved_child_of_deleted_parent.py); one
that delete() named, even after the cascade marked it, goes."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import inspect, relationship
from datamapper.exc import InvalidRequestError


@pytest.fixture
def models(Base, engine):
    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        children = relationship("Child", back_populates="parent",
                                cascade="all, delete-orphan", order_by="Child.id")
        only = relationship("Only", back_populates="parent", uselist=False,
                            cascade="all, delete-orphan")

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("parents.id"))
        name = Column(String(20))
        parent = relationship("Parent", back_populates="children")

    class Only(Base):
        __tablename__ = "onlies"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("parents.id"))
        parent = relationship("Parent", back_populates="only")

    Base.metadata.create_all(engine)
    return Parent, Child, Only


@pytest.fixture
def stored(models, make_session):
    Parent, Child, Only = models
    s = make_session()
    s.add_all([Parent(id=1, children=[Child(id=1, name="c1"), Child(id=2, name="c2")],
                      only=Only(id=1)),
               Parent(id=2, children=[Child(id=3, name="c3")])])
    s.commit()
    s.close()


@pytest.mark.parametrize("autoflush", [True, False])
@pytest.mark.parametrize("new_parent_loaded", [True, False])
@pytest.mark.parametrize("order", ["delete_then_move", "move_then_delete"])
@pytest.mark.parametrize("how", ["reference", "append"])
def test_deleted_child_moved_to_another_parent_is_deleted(
        models, stored, make_session, read_rows, autoflush, new_parent_loaded, order, how):
    Parent, Child, _ = models
    s = make_session(autoflush=autoflush)
    p2 = s.get(Parent, 2)
    if new_parent_loaded:
        p2.children
    c1 = s.get(Child, 1)

    def move():
        if how == "reference":
            c1.parent = p2
        else:
            p2.children.append(c1)

    if order == "delete_then_move":
        s.delete(c1)
        if autoflush and how == "append" and not new_parent_loaded:
            # appending loads the collection, whose autoflush sends the DELETE first:
            # the deleted object is then refused, as in SQLAlchemy
            with pytest.raises(InvalidRequestError, match="deleted"):
                move()
        else:
            move()
    else:
        move()
        s.delete(c1)
    s.commit()
    assert read_rows(Child.__table__) == [(2, 1, "c2"), (3, 2, "c3")]
    assert inspect(c1).detached


def test_deleted_one_to_one_member_given_to_another_parent_is_deleted(
        models, stored, make_session, read_rows):
    Parent, _, Only = models
    s = make_session()
    o1 = s.get(Only, 1)
    p2 = s.get(Parent, 2)
    assert p2.only is None
    s.delete(o1)
    p2.only = o1
    s.commit()
    assert read_rows(Only.__table__) == []


def test_child_marked_by_cascade_then_deleted_on_purpose_is_deleted(
        models, stored, make_session, read_rows):
    Parent, Child, _ = models
    s = make_session(autoflush=False)
    p1, p2 = s.get(Parent, 1), s.get(Parent, 2)
    c1 = p1.children[0]
    s.delete(p1)  # the cascade marks c1
    c1.parent = p2
    s.delete(c1)  # and so does the application
    s.commit()
    assert read_rows(Child.__table__) == [(3, 2, "c3")]


def test_child_marked_by_cascade_and_moved_is_still_kept(models, stored, make_session,
                                                         read_rows):
    Parent, Child, _ = models
    s = make_session(autoflush=False)
    p1, p2 = s.get(Parent, 1), s.get(Parent, 2)
    c1 = p1.children[0]
    s.delete(p1)
    c1.parent = p2
    s.commit()
    assert read_rows(Child.__table__) == [(1, 2, "c1"), (3, 2, "c3")]


def test_deleted_versioned_member_appended_to_a_dynamic_collection_is_deleted(
        Base, engine, make_session, read_rows):
    class Board(Base):
        __tablename__ = "boards"
        id = Column(Integer, primary_key=True)
        notes = relationship("Note", back_populates="board", lazy="dynamic",
                             cascade="all, delete-orphan")

    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        board_id = Column(ForeignKey("boards.id"))
        ver = Column(Integer, nullable=False)
        board = relationship("Board", back_populates="notes")
        __mapper_args__ = {"version_id_col": ver}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Board(id=1, notes=[Note(id=1), Note(id=2)]), Board(id=2)])
    s.commit()
    s.close()
    s = make_session(autoflush=False)
    n1 = s.get(Note, 1)
    s.delete(n1)
    s.get(Board, 2).notes.append(n1)
    s.commit()
    assert read_rows(Note.__table__) == [(2, 1, 1)]
