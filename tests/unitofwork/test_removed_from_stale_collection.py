"""Taking a child out of a parent's collection that it already left in an earlier flush.

Without a backref, moving a child to another parent (``p2.children.append(c)``)
leaves it in the old parent's loaded collection.  Once a flush (often an
autoflush) has written the move, the child's row names ``p2``; removing it from
``p1``'s stale collection afterwards, the usual second half of a move, must not
write anything for it: the flush used to set its foreign key to NULL, or with
``delete-orphan`` DELETE it, so that ``p2`` lost a child it had just been given.
The same held for a one-to-one (``uselist=False``) set to None or replaced.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import declarative_base, relationship
from datamapper.session import Session

CASCADES = ["save-update, merge", "all, delete-orphan"]


def _models(metadata, engine, *, cascade, uselist=True, versioned=False, natural=False,
            post_update=False):
    Base = declarative_base(metadata=metadata)
    key_type = String(10) if natural else Integer

    class Parent(Base):
        __tablename__ = "sc_parents"
        id = Column(key_type, primary_key=True, autoincrement=False)
        children = relationship("Child", cascade=cascade, uselist=uselist,
                                post_update=post_update)

    class Child(Base):
        __tablename__ = "sc_children"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(key_type, ForeignKey("sc_parents.id"))
        version = Column(Integer, nullable=False, default=1)
        __mapper_args__ = {"version_id_col": version} if versioned else {}

    metadata.create_all(engine)
    return Parent, Child


def _keys(natural):
    return ("a", "b") if natural else (1, 2)


@pytest.mark.parametrize("cascade", CASCADES)
@pytest.mark.parametrize("flush", ["flush", "autoflush"])
def test_child_removed_from_the_collection_it_left_keeps_its_new_parent(
        engine, metadata, read_rows, cascade, flush):
    Parent, Child = _models(metadata, engine, cascade=cascade)
    s = Session(engine)
    c = Child(id=10)
    p1 = Parent(id=1, children=[c])
    s.add(p1)
    s.commit()
    assert p1.children == [c]
    p2 = Parent(id=2)
    s.add(p2)
    p2.children.append(c)
    if flush == "flush":
        s.flush()
    else:
        s.query(Parent).all()
    assert c.parent_id == 2
    p1.children.remove(c)
    s.commit()
    assert read_rows(Child.__table__) == [(10, 2, 1)]
    assert read_rows(Parent.__table__) == [(1,), (2,)]
    assert c.parent_id == 2 and p2.children == [c] and p1.children == []


@pytest.mark.parametrize("cascade", CASCADES)
def test_collection_emptied_after_its_child_moved_keeps_the_child_with_its_new_parent(
        engine, metadata, read_rows, cascade):
    Parent, Child = _models(metadata, engine, cascade=cascade)
    s = Session(engine)
    c, other = Child(id=10), Child(id=11)
    p1 = Parent(id=1, children=[c, other])
    p2 = Parent(id=2)
    s.add_all([p1, p2])
    s.commit()
    assert len(p1.children) == 2
    p2.children.append(c)
    s.flush()
    p1.children = []
    s.commit()
    if cascade == "all, delete-orphan":
        assert read_rows(Child.__table__) == [(10, 2, 1)]
    else:
        assert read_rows(Child.__table__) == [(10, 2, 1), (11, None, 1)]


@pytest.mark.parametrize("cascade", CASCADES)
@pytest.mark.parametrize("change", ["none", "replace"])
def test_one_to_one_unset_after_its_child_moved_keeps_the_child_with_its_new_parent(
        engine, metadata, read_rows, cascade, change):
    Parent, Child = _models(metadata, engine, cascade=cascade, uselist=False)
    s = Session(engine)
    c = Child(id=10)
    p1 = Parent(id=1, children=c)
    s.add(p1)
    s.commit()
    assert p1.children is c
    p2 = Parent(id=2, children=c)
    s.add(p2)
    s.flush()
    p1.children = None if change == "none" else Child(id=11)
    s.commit()
    expected = [(10, 2, 1)] if change == "none" else [(10, 2, 1), (11, 1, 1)]
    assert read_rows(Child.__table__) == expected


@pytest.mark.parametrize("natural", [False, True])
@pytest.mark.parametrize("post_update", [False, True])
def test_moved_child_taken_out_of_the_stale_collection_is_not_written(
        engine, metadata, read_rows, sql_log, natural, post_update):
    """Versioned child: no UPDATE is sent for it, so its version stays; natural keys
    and a post_update relationship take the same path."""
    Parent, Child = _models(metadata, engine, cascade="save-update, merge", versioned=True,
                            natural=natural, post_update=post_update)
    k1, k2 = _keys(natural)
    s = Session(engine)
    c = Child(id=10)
    p1 = Parent(id=k1, children=[c])
    s.add_all([p1, Parent(id=k2)])
    s.commit()
    assert p1.children == [c]
    s.get(Parent, k2).children.append(c)
    s.flush()
    version = c.version
    p1.children.remove(c)
    sql_log.clear()
    s.commit()
    assert not [q for q in sql_log.statements if q.startswith("UPDATE")]
    assert read_rows(Child.__table__) == [(10, k2, version)]


@pytest.mark.parametrize("cascade", CASCADES)
def test_child_removed_from_its_current_parent_still_loses_it(
        engine, metadata, read_rows, cascade):
    """The check looks at the row as flushed: a child whose row still names the parent
    it is taken from is unlinked (or deleted as an orphan) as before, also when the
    program set its foreign key to another parent since (the relationship wins, as in
    SQLAlchemy)."""
    Parent, Child = _models(metadata, engine, cascade=cascade)
    s = Session(engine)
    c, d = Child(id=10), Child(id=11)
    p1 = Parent(id=1, children=[c, d])
    s.add_all([p1, Parent(id=2)])
    s.commit()
    p1.children.remove(c)
    d.parent_id = 2
    p1.children.remove(d)
    s.commit()
    if cascade == "all, delete-orphan":
        assert read_rows(Child.__table__) == []
    else:
        assert read_rows(Child.__table__) == [(10, None, 1), (11, None, 1)]


@pytest.mark.parametrize("uselist", [True, False])
def test_deleting_the_old_parent_leaves_a_moved_child_with_its_new_parent(
        engine, metadata, read_rows, uselist):
    """No delete cascade: the children of a deleted parent lose its key, but one
    whose row names another parent already (moved by an earlier flush, still in the
    deleted parent's stale collection) keeps it.  (SQLAlchemy sets it to NULL.)"""
    Parent, Child = _models(metadata, engine, cascade="save-update, merge", uselist=uselist)
    s = Session(engine)
    c, other = Child(id=10), Child(id=11)
    p1 = Parent(id=1, children=[c, other] if uselist else c)
    s.add(p1)
    if not uselist:
        s.add(other)
    s.commit()
    assert p1.children is not None
    p2 = Parent(id=2, children=[c] if uselist else c)
    s.add(p2)
    s.flush()
    s.delete(p1)
    s.commit()
    assert read_rows(Parent.__table__) == [(2,)]
    assert read_rows(Child.__table__) == [(10, 2, 1), (11, None, 1)]
