"""A backref's change to an unloaded collection, made by an object that is in no
session (cascade_backrefs=False: ``child.parent = p`` does not add the child).

As in SQLAlchemy, the change is queued on the owner and applied when the collection
loads, whether or not the member is in a session, until a flush of the owner: the
flush writes what the session holds, so after it the rows alone say what the
collection holds and the queue is dropped."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from datamapper import backref, inspect, registry, relationship


@pytest.fixture
def models(engine):
    md = MetaData()
    parent = Table("parent", md, Column("id", Integer, primary_key=True, autoincrement=False),
                   Column("name", String(10)))
    child = Table("child", md, Column("id", Integer, primary_key=True, autoincrement=False),
                  Column("parent_id", Integer, ForeignKey("parent.id")))
    tag = Table("tag", md, Column("id", Integer, primary_key=True, autoincrement=False))
    link = Table("parent_tag", md,
                 Column("parent_id", Integer, ForeignKey("parent.id"), primary_key=True),
                 Column("tag_id", Integer, ForeignKey("tag.id"), primary_key=True))

    class Parent:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    class Child(Parent):
        pass

    class Tag(Parent):
        pass

    reg = registry(metadata=md)
    reg.map_imperatively(Parent, parent, properties={
        "children": relationship(Child, cascade="all, delete-orphan", order_by=child.c.id,
                                 backref=backref("parent", cascade_backrefs=False),
                                 cascade_backrefs=False),
        "tags": relationship(Tag, secondary=link, order_by=tag.c.id,
                             backref=backref("parents", cascade_backrefs=False),
                             cascade_backrefs=False),
    })
    reg.map_imperatively(Child, child)
    reg.map_imperatively(Tag, tag)
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(parent.insert(), [{"id": 1, "name": "p1"}])
        conn.execute(child.insert(), [{"id": 1, "parent_id": 1}])
        conn.execute(tag.insert(), [{"id": 1}, {"id": 2}])
        conn.execute(link.insert(), [{"parent_id": 1, "tag_id": 1}])
    yield Parent, Child, Tag, child, link
    reg.dispose()


def _ids(coll):
    return [o.id for o in coll]


def test_unsaved_member_is_in_the_collection_when_it_loads(models, make_session, read_rows):
    Parent, Child, Tag, child_t, link_t = models
    s = make_session()
    p = s.get(Parent, 1)
    c = Child(id=2)
    c.parent = p  # p.children not loaded: queued
    t = Tag(id=3)
    t.parents.append(p)  # p.tags not loaded: queued
    assert "children" not in p.__dict__ and "tags" not in p.__dict__
    assert inspect(c).transient and inspect(t).transient
    with s.no_autoflush:
        assert _ids(p.children) == [1, 2]
        assert _ids(p.tags) == [1, 3]
    s.commit()  # neither is in the session: nothing is written for them
    assert inspect(c).transient and inspect(t).transient
    assert read_rows(child_t) == [(1, 1)]
    assert read_rows(link_t) == [(1, 1)]


@pytest.mark.parametrize("expired", [False, True])
def test_a_flush_of_the_owner_drops_the_queue(models, make_session, read_rows, sql_log,
                                              expired):
    Parent, Child, Tag, child_t, link_t = models
    s = make_session()
    p = s.get(Parent, 1)
    if expired:
        p.children, p.tags  # loaded, then expired: unloaded again
        s.expire(p, ["children", "tags"])
    c = Child(id=2)
    c.parent = p
    t = Tag(id=3)
    t.parents.append(p)
    s.flush()
    assert _ids(p.children) == [1]  # the rows: c was never written
    assert _ids(p.tags) == [1]
    assert c.parent is p and t.parents == [p]
    s.commit()
    assert read_rows(child_t) == [(1, 1)]
    assert read_rows(link_t) == [(1, 1)]


def test_parent_marked_for_deletion_holds_the_unsaved_member_after_the_flush(
        models, make_session, read_rows):
    """The flush loads the collection of the parent it deletes (its delete cascade):
    the queued member is in it, and, not being in the session, is neither deleted nor
    inserted."""
    Parent, Child, Tag, child_t, link_t = models
    s = make_session()
    p = s.get(Parent, 1)
    s.delete(p)
    s.expire(p, ["children"])
    c = Child(id=2)
    c.parent = p
    s.flush()
    assert inspect(p).deleted
    assert _ids(p.__dict__["children"]) == [1, 2]
    assert inspect(c).transient
    s.commit()
    assert read_rows(child_t) == []

