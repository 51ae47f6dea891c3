"""``child.parent = None`` (or ``del child.parent``) on a persistent child whose
reference was never loaded, while its delete-orphan parent is expired as a whole
(``expire(parent)``; nothing loaded since): the old parent is not known without
SQL, so no parent is recorded as having let go of the child. The flush keeps the
row and sets its foreign key to NULL, as SQLAlchemy does (its identity-map lookup
of an expired object needs SQL, which an assignment does not run). Whenever the
old parent is known (the parent loaded or only partly expired, its collection
loaded, or the child's reference loaded), the child is an orphan and is deleted.
A parent that is not in the session (expunged, or collected from the weak identity
map) is not known either: the row stays. (Found by the differential test:
KNOWN_PROGRAMS["orphan_by_backref_of_expired_parent"].)"""

import gc

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, backref, declarative_base, relationship


@pytest.fixture(params=["collection", "one_to_one"])
def models(request, engine):
    Base = declarative_base()
    uselist = request.param == "collection"

    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        children = relationship("Child", cascade="all, delete-orphan", uselist=uselist,
                                backref=backref("parent"))

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("parents.id"))

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Parent(id=1, name="p1"), Parent(id=2, name="p2")])
        s.flush()
        s.add(Child(id=1, parent_id=1))
        if uselist:
            s.add(Child(id=2, parent_id=1))
        s.commit()
    return Parent, Child, uselist


def _unlink(child, how):
    if how == "none":
        child.parent = None
    else:
        del child.parent


def _kept(uselist):
    return [(1, None), (2, 1)] if uselist else [(1, None)]


def _deleted(uselist):
    return [(2, 1)] if uselist else []


@pytest.mark.parametrize("how", ["none", "del"])
def test_unlink_from_expired_parent_keeps_the_row(models, engine, read_rows, how):
    Parent, Child, uselist = models
    with Session(engine) as s:
        p = s.get(Parent, 1)
        c = s.get(Child, 1)
        s.expire(p)
        _unlink(c, how)
        s.commit()
        assert p.name == "p1"
    assert read_rows("select id, parent_id from children order by id") == _kept(uselist)


@pytest.mark.parametrize("how", ["none", "del"])
@pytest.mark.parametrize("parent", ["loaded", "partly_expired", "collection_loaded",
                                    "reference_loaded"])
def test_unlink_from_known_parent_deletes_the_orphan(models, engine, read_rows, how, parent):
    Parent, Child, uselist = models
    with Session(engine) as s:
        p = s.get(Parent, 1)
        c = s.get(Child, 1)
        if parent == "partly_expired":
            s.expire(p, ["name"])
        elif parent == "collection_loaded":
            s.expire(p)
            p.children
        elif parent == "reference_loaded":
            c.parent
            s.expire(p)
        _unlink(c, how)
        s.commit()
    assert read_rows("select id, parent_id from children order by id") == _deleted(uselist)


@pytest.mark.parametrize("parent", ["expunged", "collected"])
def test_unlink_from_parent_not_in_session_keeps_the_row(models, engine, read_rows, parent):
    Parent, Child, uselist = models
    with Session(engine) as s:
        p = s.get(Parent, 1)
        c = s.get(Child, 1)
        s.expunge(p)
        if parent == "collected":
            del p
            gc.collect()
        c.parent = None
        s.commit()
    assert read_rows("select id, parent_id from children order by id") == _kept(uselist)


def test_move_from_expired_parent_keeps_the_row(models, engine, read_rows):
    Parent, Child, uselist = models
    with Session(engine) as s:
        p1, p2 = s.get(Parent, 1), s.get(Parent, 2)
        c = s.get(Child, 1)
        s.expire(p1)
        c.parent = p2
        s.commit()
        assert (c.parent, p1.name) == (p2, "p1")
    rows = [(1, 2), (2, 1)] if uselist else [(1, 2)]
    assert read_rows("select id, parent_id from children order by id") == rows


def test_unlink_from_expired_parent_then_delete_parent(models, engine, read_rows):
    """The parent deleted too: its delete cascade loads the collection, which holds
    the child no longer (its foreign key changed, unflushed): the row stays, unlinked."""
    Parent, Child, uselist = models
    with Session(engine) as s:
        p = s.get(Parent, 1)
        c = s.get(Child, 1)
        s.expire(p)
        c.parent = None
        s.delete(p)
        s.commit()
    assert read_rows("select id, parent_id from children order by id") == [(1, None)]
