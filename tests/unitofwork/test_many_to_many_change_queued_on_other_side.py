"""A many-to-many link changed through one side's loaded collection is recorded on
the other side too: in its collection when loaded, else in the queue of backref
changes kept for the unloaded collection. The flush writes the change when either
side still records it: the changing side's own change may be gone (that object
refreshed or expired, or that collection expired), the other side's queue still
holds it and the association row is inserted or deleted, as in SQLAlchemy. When both
sides record it the row is written once. (Found by the differential test:
KNOWN_PROGRAMS["untag_refresh_untag"].)"""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import Session, backref, declarative_base, relationship


@pytest.fixture
def models(engine):
    Base = declarative_base()
    links = Table("q_links", Base.metadata,
                  Column("post_id", ForeignKey("q_posts.id"), primary_key=True),
                  Column("tag_id", ForeignKey("q_tags.id"), primary_key=True))

    class Post(Base):
        __tablename__ = "q_posts"
        id = Column(String(10), primary_key=True)  # (a string key: see the last test)
        title = Column(String(20))
        tags = relationship("Tag", secondary=links, order_by="Tag.id",
                            backref=backref("posts", order_by="Post.id"))

    class Tag(Base):
        __tablename__ = "q_tags"
        id = Column(Integer, primary_key=True, autoincrement=False)

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        t1, t2 = Tag(id=1), Tag(id=2)
        s.add_all([Post(id="p1", title="a", tags=[t1]), Post(id="p2", title="b"), t2])
        s.commit()
    return Post, Tag


def _forget(s, obj, attr, how):
    with s.no_autoflush:
        if how == "refresh":
            s.refresh(obj)
        elif how == "expire":
            s.expire(obj)
        else:
            s.expire(obj, [attr])


HOWS = ["refresh", "expire", "expire_collection"]
LINKS = "select post_id, tag_id from q_links order by post_id, tag_id"


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("side", ["posts", "tags"])
def test_removal_queued_on_the_other_side_is_flushed(models, engine, read_rows, how, side):
    Post, Tag = models
    with Session(engine) as s:
        p, t = s.get(Post, "p1"), s.get(Tag, 1)
        if side == "tags":
            p.tags.remove(t)  # t.posts not loaded: queued there
            _forget(s, p, "tags", how)
        else:
            t.posts.remove(p)
            _forget(s, t, "posts", how)
        assert p.tags == [] and t.posts == []  # the load's autoflush wrote the removal
        s.commit()
    assert read_rows(LINKS) == []


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("side", ["posts", "tags"])
def test_addition_queued_on_the_other_side_is_flushed(models, engine, read_rows, how, side):
    Post, Tag = models
    with Session(engine) as s:
        p, t = s.get(Post, "p2"), s.get(Tag, 2)
        if side == "tags":
            p.tags.append(t)
            _forget(s, p, "tags", how)
        else:
            t.posts.append(p)
            _forget(s, t, "posts", how)
        s.commit()
    assert read_rows(LINKS) == [("p1", 1), ("p2", 2)]


@pytest.mark.parametrize("op", ["remove", "append", "replace"])
def test_change_recorded_on_both_sides_is_written_once(models, engine, read_rows, op):
    Post, Tag = models
    with Session(engine) as s:
        p, t1, t2 = s.get(Post, "p1"), s.get(Tag, 1), s.get(Tag, 2)
        if op == "remove":
            p.tags.remove(t1)
        elif op == "append":
            p.tags.append(t2)
        else:
            p.tags = [t2]
        s.commit()
    expected = {"remove": [], "append": [("p1", 1), ("p1", 2)], "replace": [("p1", 2)]}[op]
    assert read_rows(LINKS) == expected


@pytest.mark.parametrize("verb", ["remove", "append"])
def test_rows_reported_by_either_side_in_one_flush(models, engine, read_rows, verb):
    """One row known only to a Tag's queue, one only to a Post's: both written in one
    statement batch, ordered by the row's columns (the two sides' keys, a string and
    an integer here, are not compared with each other)."""
    Post, Tag = models
    with Session(engine) as s:
        p1, p2, t1, t2 = s.get(Post, "p1"), s.get(Post, "p2"), s.get(Tag, 1), s.get(Tag, 2)
        if verb == "remove":
            p2.tags.append(t2)
            s.commit()
            p1.tags, t2.posts  # loaded first (a later load would autoflush)
            p1.tags.remove(t1)  # queued on t1.posts
            t2.posts.remove(p2)  # queued on p2.tags
        else:
            p1.tags, t1.posts
            p1.tags.append(t2)
            t1.posts.append(p2)
        with s.no_autoflush:
            s.expire(p1, ["tags"])
            s.expire(t2 if verb == "remove" else t1, ["posts"])
        s.commit()
    expected = [] if verb == "remove" else [("p1", 1), ("p1", 2), ("p2", 1)]
    assert read_rows(LINKS) == expected


def test_append_then_remove_queues_nothing(models, engine, read_rows):
    """Appended then removed while the other side is unloaded: no net change, nothing
    written (the queue of the unloaded side cancels the two, as SQLAlchemy's does)."""
    Post, Tag = models
    with Session(engine) as s:
        p, t = s.get(Post, "p2"), s.get(Tag, 1)
        assert p.tags == []
        p.tags.append(t)  # t.posts not loaded: queued there
        p.tags.remove(t)
        s.flush()
        s.commit()
    assert read_rows(LINKS) == [("p1", 1)]
