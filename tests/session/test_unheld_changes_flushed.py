"""A change made through an object the program does not hold still reaches the
database: whatever has unflushed changes is held by the session until the
flush, including an owner dropped while the program keeps one of its
collections, and objects changed only through a backref."""

import gc

import pytest
from sqlalchemy import Column, ForeignKey, Integer, PickleType, String, Table

from datamapper import relationship
from datamapper.attributes import flag_modified, set_attribute


@pytest.fixture
def models(Base, engine):
    user_keywords = Table(
        "user_keywords", Base.metadata,
        Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
        Column("keyword_id", Integer, ForeignKey("keywords.id"), primary_key=True),
    )

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        data = Column(PickleType)
        addresses = relationship("Address", backref="user", cascade="all, delete-orphan",
                                 order_by="Address.id")
        keywords = relationship("Keyword", secondary=user_keywords, backref="users",
                                order_by="Keyword.id")
        notes = relationship("Note", lazy="dynamic", order_by="Note.id")
        tags = relationship("Tag", collection_class=set)

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    class Keyword(Base):
        __tablename__ = "keywords"
        id = Column(Integer, primary_key=True)
        word = Column(String(50))

    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        text = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))

    Base.metadata.create_all(engine)
    return User, Address, Keyword, Note, Tag


@pytest.fixture
def seeded(models, make_session):
    User, Address, Keyword, Note, Tag = models
    s = make_session()
    k1, k2 = Keyword(id=1, word="k1"), Keyword(id=2, word="k2")
    s.add_all([
        User(id=1, name="u1", data={"a": 1},
             addresses=[Address(id=1, email="a1"), Address(id=2, email="a2")],
             keywords=[k1, k2], tags={Tag(id=1)}),
        User(id=2, name="u2", addresses=[Address(id=3, email="a3")]),
    ])
    s.commit()
    s.close()
    return models


def _tables(models):
    User, Address, Keyword, Note, Tag = models
    return User.__table__, Address.__table__


def test_scalar_change_on_dropped_object_is_written(seeded, session, read_rows):
    User = seeded[0]
    session.get(User, 1).name = "changed"
    gc.collect()
    session.commit()
    assert read_rows(User.__table__, id=1)[0][1] == "changed"


def test_set_attribute_on_dropped_object_is_written(seeded, session, read_rows):
    User = seeded[0]
    set_attribute(session.get(User, 1), "name", "via set_attribute")
    gc.collect()
    session.commit()
    assert read_rows(User.__table__, id=1)[0][1] == "via set_attribute"


def test_flag_modified_on_dropped_object_is_written(seeded, session, read_rows):
    User = seeded[0]
    u = session.get(User, 1)
    u.data["a"] = 2  # an in-place change only flag_modified can report
    flag_modified(u, "data")
    del u
    gc.collect()
    session.commit()
    session.close()
    assert session.get(User, 1).data == {"a": 2}


def test_many_to_one_set_on_dropped_object_is_written(seeded, session, read_rows):
    User, Address = seeded[:2]
    session.get(Address, 1).user = session.get(User, 2)
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__, id=1) == [(1, "a1", 2)]


def test_append_to_collection_of_dropped_owner_is_written(seeded, session, read_rows):
    User, Address = seeded[:2]
    session.get(User, 1).addresses.append(Address(id=9, email="new"))
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__) == [
        (1, "a1", 1), (2, "a2", 1), (3, "a3", 2), (9, "new", 1)]


def test_pop_from_collection_of_dropped_owner_deletes_the_orphan(seeded, session, read_rows,
                                                                 sql_log):
    User, Address = seeded[:2]
    session.get(User, 1).addresses.pop()
    gc.collect()
    sql_log.clear()
    session.commit()
    assert any(s.startswith("DELETE FROM addresses") for s in sql_log.statements)
    assert read_rows(Address.__table__) == [(1, "a1", 1), (3, "a3", 2)]


def test_remove_from_collection_of_dropped_owner_deletes_the_orphan(seeded, session, read_rows):
    User, Address = seeded[:2]
    addresses = session.get(User, 1).addresses
    addresses.remove(addresses[0])
    del addresses
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__) == [(2, "a2", 1), (3, "a3", 2)]


def test_clear_of_collection_of_dropped_owner_deletes_the_orphans(seeded, session, read_rows):
    User, Address = seeded[:2]
    session.get(User, 1).addresses.clear()
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__) == [(3, "a3", 2)]


def test_item_replace_in_collection_of_dropped_owner_is_written(seeded, session, read_rows):
    User, Address = seeded[:2]
    addresses = session.get(User, 1).addresses
    gc.collect()
    addresses[0] = Address(id=8, email="replacement")
    addresses[1:] = [Address(id=9, email="slice")]
    del addresses
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__) == [(3, "a3", 2), (8, "replacement", 1), (9, "slice", 1)]


def test_collection_assignment_on_dropped_object_is_written(seeded, session, read_rows):
    User, Address = seeded[:2]
    session.get(User, 1).addresses = [Address(id=9, email="only")]
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__) == [(3, "a3", 2), (9, "only", 1)]


def test_set_collection_of_dropped_owner_is_written(seeded, session, read_rows):
    User, _a, _k, _n, Tag = seeded
    tags = session.get(User, 1).tags
    gc.collect()
    tags.add(Tag(id=2))
    tags.discard(next(t for t in tags if t.id == 1))
    del tags
    gc.collect()
    session.commit()
    assert read_rows(Tag.__table__) == [(1, None), (2, 1)]


def test_many_to_many_remove_through_dropped_owner_is_written(seeded, session, read_rows):
    User = seeded[0]
    session.get(User, 1).keywords.pop(0)
    gc.collect()
    session.commit()
    assert read_rows("SELECT user_id, keyword_id FROM user_keywords") == [(1, 2)]


def test_backref_change_on_object_the_program_never_held_is_written(seeded, session, read_rows):
    """Address 1 leaves User 1 through the backref of ``Address.user``: the change is
    recorded on User 1's collection, and User 1 is referenced by nobody but the session."""
    User, Address = seeded[:2]
    a = session.get(Address, 1)
    u = a.user
    assert [x.id for x in u.addresses] == [1, 2]
    del u
    gc.collect()  # User 1 is alive only through a.user
    a.user = None  # backref: removed from User 1's addresses -> an orphan
    del a
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__) == [(2, "a2", 1), (3, "a3", 2)]


def test_backref_change_queued_on_unloaded_collection_of_dropped_object_is_written(
        seeded, session, read_rows):
    """User 1's addresses were never loaded: the backref queues the removal on User 1,
    which only the session holds; the flush still finds the orphan."""
    User, Address = seeded[:2]
    a = session.get(Address, 1)
    assert a.user.id == 1  # User 1 loaded (alive only through a.user), addresses not
    a.user = None
    del a
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__) == [(2, "a2", 1), (3, "a3", 2)]


def test_backref_change_queued_on_unloaded_collection_of_held_object_is_written(
        seeded, session, read_rows):
    User, Address = seeded[:2]
    u = session.get(User, 1)
    a = session.get(Address, 1)
    a.user = None
    assert u in session.dirty
    session.commit()
    assert read_rows(Address.__table__) == [(2, "a2", 1), (3, "a3", 2)]
    assert [x.id for x in u.addresses] == [2]


def test_backref_move_queued_on_unloaded_collection_keeps_the_child(seeded, session,
                                                                     read_rows):
    """Moving a child to another parent through the many-to-one side is no orphan."""
    User, Address = seeded[:2]
    a = session.get(Address, 1)
    assert a.user.id == 1
    a.user = session.get(User, 2)
    del a
    gc.collect()
    session.commit()
    assert read_rows(Address.__table__) == [(1, "a1", 2), (2, "a2", 1), (3, "a3", 2)]


def test_many_to_many_backref_change_on_dropped_objects_is_written(seeded, session, read_rows):
    _u, _a, Keyword, _n, _t = seeded
    kw = session.get(Keyword, 1)
    for u in kw.users:
        u.keywords  # noqa: B018  (loaded: the backref will change it)
    del u
    kw.users.clear()
    del kw
    gc.collect()
    session.commit()
    assert read_rows("SELECT user_id, keyword_id FROM user_keywords") == [(1, 2)]


def test_dynamic_append_through_dropped_owner_is_written(seeded, session, read_rows):
    User, _a, _k, Note, _t = seeded
    session.get(User, 1).notes.append(Note(id=1, text="n"))
    gc.collect()
    session.commit()
    assert read_rows(Note.__table__) == [(1, "n", 1)]


def test_changes_through_dropped_owner_with_a_strong_identity_map(seeded, make_session,
                                                                read_rows):
    User, Address = seeded[:2]
    s = make_session(weak_identity_map=False)
    s.get(User, 1).addresses.pop()
    gc.collect()
    s.commit()
    assert read_rows(Address.__table__) == [(1, "a1", 1), (3, "a3", 2)]


def test_collection_of_owner_dropped_then_reloaded_applies_to_the_session_object(
        seeded, session, read_rows):
    """The program keeps a collection, drops its owner, loads the owner again (a new
    object) and then changes the old collection: the session's object sees it."""
    User, Address = seeded[:2]
    addresses = session.get(User, 1).addresses
    gc.collect()
    again = session.get(User, 1)
    assert again is addresses[0].user
    addresses.pop()
    assert [a.id for a in again.addresses] == [1]
    del addresses
    session.commit()
    assert read_rows(Address.__table__) == [(1, "a1", 1), (3, "a3", 2)]
