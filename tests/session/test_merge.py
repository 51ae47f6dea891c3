"""Session.merge(): locating the session's copy (identity map, then database, else a
new pending object), copying loaded state with or without history, cascading along
"merge" relationships, load=False and its checks, cycles, and the 0.9 Merge Tips."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import backref, event, inspect, make_transient_to_detached, relationship
from datamapper.exc import InvalidRequestError


@pytest.fixture
def models(Base, engine):
    """User 1-* Address with backref ``Address.user`` (default cascade: save-update, merge)."""

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        note = Column(String(50))
        addresses = relationship("Address", backref="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    Base.metadata.create_all(engine)
    return User, Address


@pytest.fixture
def stored(models, make_session):
    """User 1 'ed' (note 'n1') with addresses 1 and 2, committed; returns the detached objects
    with every attribute loaded."""
    User, Address = models
    s = make_session(expire_on_commit=False)
    u = User(id=1, name="ed", note="n1",
             addresses=[Address(id=1, email="a1@x"), Address(id=2, email="a2@x")])
    s.add(u)
    s.commit()
    s.close()
    return u


def _tables(models):
    User, Address = models
    return User.__table__, Address.__table__


# -- locating the copy -------------------------------------------------------------------------
def test_merge_of_detached_object_returns_persistent_copy_and_leaves_source_detached(
        models, stored, session, sql_log):
    User, _ = models
    merged = session.merge(stored)
    assert merged is not stored
    assert inspect(merged).persistent
    assert inspect(stored).detached
    assert stored not in session
    assert (merged.id, merged.name, merged.note) == (1, "ed", "n1")
    assert len(sql_log.matching("SELECT")) >= 1  # looked up in the database


def test_merge_returns_identity_map_object_without_sql(models, stored, session, sql_log):
    User, _ = models
    existing = session.get(User, 1)
    sql_log.clear()
    detached = User(id=1, name="ed")
    merged = session.merge(detached)
    assert merged is existing
    assert sql_log.count == 0


def test_merge_copies_changed_columns_and_flush_updates_only_those(
        models, stored, session, sql_log, read_rows):
    User, _ = models
    users, _ = _tables(models)
    merged = session.merge(User(id=1, name="edward"))
    assert merged.name == "edward"
    assert merged in session.dirty
    assert inspect(merged).attrs.name.history.deleted == ["ed"]
    sql_log.clear()
    session.commit()
    updates = sql_log.matching("UPDATE")
    assert len(updates) == 1
    assert "name" in updates[0] and "note" not in updates[0]
    assert read_rows(users) == [(1, "edward", "n1")]


def test_merge_of_equal_values_leaves_copy_clean(models, stored, session, sql_log):
    User, _ = models
    merged = session.merge(User(id=1, name="ed", note="n1"))
    assert merged not in session.dirty
    assert not session.is_modified(merged)
    sql_log.clear()
    session.flush()
    assert sql_log.count == 0


def test_merge_keeps_session_values_of_attributes_unloaded_on_source(
        models, stored, session, read_rows):
    User, _ = models
    users, _ = _tables(models)
    source = User(id=1, name="edward")  # note never set: not copied
    merged = session.merge(source)
    assert merged.note == "n1"
    session.commit()
    assert read_rows(users) == [(1, "edward", "n1")]


def test_merge_of_transient_without_primary_key_inserts_new_row(
        models, session, sql_log, read_rows):
    User, _ = models
    users, _ = _tables(models)
    source = User(name="new")
    merged = session.merge(source)
    assert merged is not source
    assert inspect(merged).pending
    assert inspect(source).transient
    assert sql_log.count == 0  # no identity to look up
    session.commit()
    assert [r[1:] for r in read_rows(users)] == [("new", None)]
    assert source.id is None


def test_merge_of_transient_with_unknown_primary_key_inserts_it(
        models, session, sql_log, read_rows):
    User, _ = models
    users, _ = _tables(models)
    merged = session.merge(User(id=7, name="seven"))
    assert inspect(merged).pending
    assert len(sql_log.matching("SELECT")) == 1  # looked for row 7, found none
    session.commit()
    assert read_rows(users) == [(7, "seven", None)]


def test_merge_of_object_already_in_session_returns_it_unchanged(models, session, sql_log):
    User, _ = models
    u = User(id=3, name="x")
    session.add(u)
    assert session.merge(u) is u
    session.flush()
    sql_log.clear()
    assert session.merge(u) is u
    assert sql_log.count == 0


def test_merge_of_object_in_another_session_copies_without_touching_source(
        models, stored, make_session, read_rows):
    User, _ = models
    users, _ = _tables(models)
    s1, s2 = make_session(), make_session()
    source = s1.get(User, 1)
    source.name = "changed in s1"
    merged = s2.merge(source)
    assert merged is not source
    assert merged.name == "changed in s1"
    assert inspect(source).session is s1 and source in s1.dirty
    assert inspect(merged).session is s2
    s1.rollback()  # s1 releases its connection (and the row lock on the servers)
    s2.commit()
    assert read_rows(users) == [(1, "changed in s1", "n1")]


def test_merge_onto_object_marked_deleted_raises_without_autoflush(models, stored,
                                                                   make_session):
    User, _ = models
    session = make_session(autoflush=False)
    session.delete(session.get(User, 1))
    with pytest.raises(InvalidRequestError, match="marked for deletion"):
        session.merge(User(id=1, name="again"))


def test_merge_autoflushes_pending_changes_before_looking_up(models, stored, session,
                                                             sql_log, read_rows):
    User, _ = models
    users, _ = _tables(models)
    session.delete(session.get(User, 1))
    sql_log.clear()
    merged = session.merge(User(id=1, name="again"))
    assert sql_log.matching("DELETE")  # flushed first, so the lookup finds no row
    assert inspect(merged).pending
    session.commit()
    assert read_rows(users) == [(1, "again", None)]


# -- cascades --------------------------------------------------------------------------------
def test_merge_cascades_to_collection_replacing_members(models, stored, session, read_rows):
    User, Address = models
    _, addresses = _tables(models)
    # an outside copy of user 1 that keeps address 1 (changed), drops 2 and gains 3
    source = User(id=1, name="ed",
                  addresses=[Address(id=1, email="new1@x"), Address(id=3, email="a3@x")])
    merged = session.merge(source)
    assert [a.id for a in merged.addresses] == [1, 3]
    assert all(inspect(a).session is session for a in merged.addresses)
    assert merged.addresses[0] is session.get(Address, 1)
    assert merged.addresses[1].user is merged
    assert [a.id for a in source.addresses] == [1, 3]
    assert all(inspect(a).transient for a in source.addresses)
    session.commit()
    assert read_rows(addresses) == [(1, "new1@x", 1), (2, "a2@x", None), (3, "a3@x", 1)]


def test_merge_cascades_along_many_to_one(models, stored, session, read_rows):
    User, Address = models
    users, addresses = _tables(models)
    source = Address(id=5, email="a5@x")
    source.user = User(id=1, name="ed, via address")
    merged = session.merge(source)
    assert merged.user is session.get(User, 1)
    assert merged in merged.user.addresses
    session.commit()
    assert read_rows(users) == [(1, "ed, via address", "n1")]
    assert read_rows(addresses, id=5) == [(5, "a5@x", 1)]


def test_merge_returns_one_copy_for_an_object_reached_twice(models, session):
    User, Address = models
    u = User(id=1, name="ed")
    a1, a2 = Address(id=1, email="1"), Address(id=2, email="2")
    u.addresses = [a1, a2]  # backrefs: a1.user is u, a2.user is u (u is reached twice)
    m1, m2 = session.merge_all([a1, a2])
    assert m1.user is m2.user
    assert m1.user.addresses == [m1, m2]
    assert len(session.new) == 3


def test_merge_leaves_alone_the_collection_reached_through_its_backref(models, session):
    """Merging an address walks to its user along Address.user but not back along
    User.addresses (the backref of the way it came, as in SQLAlchemy): the user's other
    addresses are not merged."""
    User, Address = models
    u = User(id=1, name="ed")
    a1, a2 = Address(id=1, email="1"), Address(id=2, email="2")
    u.addresses = [a1, a2]
    merged = session.merge(a1)
    assert merged.user.addresses == [merged]
    assert len(session.new) == 2


def test_merge_handles_self_referential_chain_deeper_than_recursion_limit(Base, engine,
                                                                           session):
    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("nodes.id"))
        children = relationship("Node", backref=backref("parent", remote_side=[id]))

    Base.metadata.create_all(engine)
    head = node = Node()
    for _ in range(2500):
        child = Node()
        node.children = [child]
        node = child
    merged = session.merge(head)
    assert len(session.new) == 2501
    depth, n = 0, merged
    while n.children:
        n = n.children[0]
        depth += 1
    assert depth == 2500 and n.parent.parent is not None


def test_merge_does_not_follow_relationship_without_merge_cascade(Base, engine, session,
                                                                  make_session, read_rows):
    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        kids = relationship("Kid", cascade="save-update")

    class Kid(Base):
        __tablename__ = "kids"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        parent_id = Column(Integer, ForeignKey("parents.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Parent(id=1, kids=[Kid(id=1, name="k")]))
    s.commit()
    merged = session.merge(Parent(id=1, kids=[Kid(id=1, name="renamed"), Kid(id=2)]))
    assert [k.name for k in merged.kids] == ["k"]
    session.commit()
    assert read_rows(Kid.__table__) == [(1, "k", 1)]


def test_merge_of_unset_many_to_one_keeps_foreign_key(models, stored, session, read_rows):
    """The 0.9 Merge Tips pitfall: reading an unset many-to-one must not store None."""
    User, Address = models
    _, addresses = _tables(models)
    source = Address(id=1, email="tip@x", user_id=1)
    assert source.user is None
    assert "user" not in source.__dict__
    merged = session.merge(source)
    session.commit()
    assert merged.user is session.get(User, 1)
    assert read_rows(addresses, id=1) == [(1, "tip@x", 1)]


def test_merge_of_explicit_none_many_to_one_clears_it(models, stored, session, read_rows):
    User, Address = models
    _, addresses = _tables(models)
    source = Address(id=1, email="a1@x")
    source.user = None  # an explicit assignment is state to merge
    session.merge(source)
    session.commit()
    assert read_rows(addresses, id=1) == [(1, "a1@x", None)]


# -- load=False ------------------------------------------------------------------------------
def test_merge_load_false_copies_without_sql_or_history(models, stored, session, sql_log):
    User, _ = models
    merged = session.merge(stored, load=False)
    assert merged is not stored
    assert inspect(merged).persistent
    assert (merged.name, [a.email for a in merged.addresses]) == ("ed", ["a1@x", "a2@x"])
    assert all(inspect(a).persistent for a in merged.addresses)
    assert merged.addresses[0].user is merged
    assert not session.dirty
    assert not session.is_modified(merged)
    session.flush()
    assert sql_log.count == 0


def test_merge_load_false_leaves_unloaded_attributes_to_load_later(
        models, stored, make_session, session, sql_log):
    User, _ = models
    s = make_session()  # expire_on_commit: everything expired after commit
    u = s.get(User, 1)
    s.commit()
    s.close()
    assert "name" not in u.__dict__
    sql_log.clear()
    merged = session.merge(u, load=False)
    assert sql_log.count == 0
    assert merged.name == "ed"  # loaded on access through the session
    assert len(sql_log.matching("SELECT")) == 1


def test_merge_load_false_overwrites_identity_map_object_without_history(
        models, stored, session, sql_log):
    User, _ = models
    existing = session.get(User, 1)
    existing.note = "unflushed"
    detached = User(id=1, name="cached")  # a clean detached copy, e.g. from a cache
    make_transient_to_detached(detached)
    sql_log.clear()
    merged = session.merge(detached, load=False)
    assert merged is existing
    assert merged.name == "cached"
    assert inspect(merged).attrs.name.history.has_changes() is False
    assert merged.note == "unflushed"  # not on the source: left alone
    assert sql_log.count == 0


def test_merge_load_false_rejects_object_with_unflushed_changes(models, stored, session):
    stored.name = "dirty"
    stored.addresses[1].email = "dirty too"
    with pytest.raises(InvalidRequestError) as info:
        session.merge(stored, load=False)
    message = str(info.value)
    assert "load=False" in message and "unflushed changes" in message
    assert "User" in message and "Address" in message
    assert list(session) == []  # nothing was merged


def test_merge_load_false_rejects_transient_object(models, session):
    User, _ = models
    with pytest.raises(InvalidRequestError, match="transient"):
        session.merge(User(id=1, name="x"), load=False)


def test_merge_dont_load_is_the_deprecated_spelling_of_load_false(
        models, stored, session, sql_log):
    with pytest.deprecated_call(match="load=False"):
        merged = session.merge(stored, dont_load=True)
    assert sql_log.count == 0
    assert merged.name == "ed" and not session.is_modified(merged)


# -- statements a merge emits ----------------------------------------------------------------
def test_merge_of_detached_parent_loads_its_collection_once_not_each_member(
        models, stored, session, sql_log, read_rows):
    """The copy's collection is loaded before its members are located: one SELECT for the
    user, one for its addresses, and the members come from the identity map."""
    User, Address = models
    _, addresses = _tables(models)
    source = User(id=1, name="ed",
                  addresses=[Address(id=1, email="new1@x"), Address(id=2, email="a2@x")])
    merged = session.merge(source)
    assert len(sql_log.matching("SELECT")) == 2
    assert [a.email for a in merged.addresses] == ["new1@x", "a2@x"]
    assert len(sql_log.matching("SELECT")) == 2
    session.commit()
    assert read_rows(addresses) == [(1, "new1@x", 1), (2, "a2@x", 1)]


def test_merge_onto_persistent_parent_with_loaded_collection_needs_no_select(
        models, stored, session, sql_log):
    User, Address = models
    existing = session.get(User, 1)
    assert len(existing.addresses) == 2
    sql_log.clear()
    merged = session.merge(stored)
    assert merged is existing
    assert sql_log.count == 0


# -- the "load" event -------------------------------------------------------------------------
def test_merge_fires_load_for_each_copy_it_creates_and_for_rows_it_loads(
        models, stored, session):
    """A copy merge makes up (transient source: new pending object; load=False: a persistent
    one) gets the "load" event, like an object loaded from a row; an object found in the
    identity map gets none."""
    User, Address = models
    seen = []
    event.listen(User, "load", lambda obj, ctx: seen.append(("User", obj.id)))
    event.listen(Address, "load", lambda obj, ctx: seen.append(("Address", obj.id)))
    # user 1 and its address 1 and 2 come from rows; address 3 is made up
    merged = session.merge(User(id=1, name="ed", addresses=[Address(id=1), Address(id=3)]))
    assert sorted(seen) == [("Address", 1), ("Address", 2), ("Address", 3), ("User", 1)]
    seen.clear()
    session.merge(User(id=1, name="again"))  # in the identity map: no event
    assert seen == []
    new = session.merge(User(id=9, name="nine"))
    assert seen == [("User", 9)] and inspect(new).pending
    session.commit()
    seen.clear()
    detached = User(id=2, name="cached")
    make_transient_to_detached(detached)
    session.merge(detached, load=False)
    assert seen == [("User", 2)]
    assert merged.addresses  # the session is still usable


# -- merge_all --------------------------------------------------------------------------------
def test_merge_all_returns_copies_in_order_and_copies_a_shared_object_once(
        models, stored, session, read_rows):
    User, Address = models
    users, addresses = _tables(models)
    shared = Address(id=5, email="shared@x")
    u1 = User(id=1, name="ed again", addresses=[shared])
    u2 = User(id=2, name="new")
    a5 = shared  # reached through u1 and given on its own too
    m1, m2, m5 = session.merge_all([u1, u2, a5])
    assert m1 is session.get(User, 1) and m1.name == "ed again"
    assert inspect(m2).pending and m2.name == "new"
    assert m5 is m1.addresses[0]
    assert inspect(u1).transient and inspect(shared).transient  # sources left alone
    assert session.merge_all([]) == []
    session.commit()
    assert read_rows(users) == [(1, "ed again", "n1"), (2, "new", None)]
    assert read_rows(addresses) == [(1, "a1@x", None), (2, "a2@x", None), (5, "shared@x", 1)]


def test_merge_all_with_load_false_checks_every_object_before_merging_any(
        models, stored, session):
    User, _ = models
    clean = User(id=1, name="ed")
    make_transient_to_detached(clean)
    with pytest.raises(InvalidRequestError, match="transient"):
        session.merge_all([clean, User(id=2, name="transient")], load=False)
    assert list(session) == []


def test_merge_repointing_many_to_one_does_not_load_the_old_target(
        models, stored, make_session, session, sql_log, read_rows):
    """The copy's unloaded many-to-one is replaced like an assignment: the old User is not
    SELECTed just to be let go of; re-pointing at the same user changes nothing."""
    User, Address = models
    users, addresses = _tables(models)
    s = make_session()
    s.add(User(id=2, name="wendy"))
    s.commit()
    s.close()
    source = Address(id=1, email="a1@x")
    source.user = User(id=2, name="wendy")
    sql_log.clear()
    merged = session.merge(source)
    # address 1, user 2 and (through the backref the source set) user 2's addresses;
    # never user 1
    user_selects = [q for q in sql_log.matching("SELECT") if "FROM users" in q]
    assert len(user_selects) == 1
    assert inspect(merged).attrs.user.history.deleted in ((), [])
    assert merged in session.dirty
    session.commit()
    assert read_rows(addresses, id=1) == [(1, "a1@x", 2)]
    # the same target again: the copy is not dirtied
    source2 = Address(id=1, email="a1@x")
    source2.user = User(id=2, name="wendy")
    merged = session.merge(source2)
    assert merged not in session.dirty


def test_merge_without_a_value_restores_an_attribute_deleted_on_the_copy(
        models, stored, make_session, sql_log, read_rows):
    """``del copy.note`` (not flushed) then a merge whose source has no note: the copy goes
    back to the row's note, loaded on access, and the flush writes nothing for it."""
    User, _ = models
    users, _ = _tables(models)
    session = make_session(autoflush=False)
    copy = session.get(User, 1)
    del copy.note
    merged = session.merge(User(id=1))
    assert merged is copy
    assert "note" not in copy.__dict__
    assert copy.note == "n1"
    sql_log.clear()
    session.commit()
    assert sql_log.matching("UPDATE") == []
    assert read_rows(users) == [(1, "ed", "n1")]


# -- composite keys with a NULL column ---------------------------------------------------------
@pytest.fixture
def Pair(Base, engine):
    """Mapped on two nullable columns as its primary key (the table has no key of its own)."""
    from sqlalchemy import Table

    t = Table("pairs", Base.metadata, Column("a", String(10)), Column("b", String(10)),
              Column("note", String(20)))

    class Pair(Base):
        __table__ = t
        __mapper_args__ = {"primary_key": [t.c.a, t.c.b]}

    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"a": "x", "b": None, "note": "half"},
                                  {"a": "y", "b": "z", "note": "full"}])
    return Pair


def test_merge_of_partly_null_key_finds_the_row(Pair, session, sql_log):
    """allow_partial_pks (the default): a key with some NULL columns is looked up (b IS
    NULL) and merged onto the row it names; an all-NULL key is never looked up."""
    merged = session.merge(Pair(a="x", b=None, note="half"))
    assert len(sql_log.matching("SELECT")) == 1 and "IS NULL" in sql_log.statements[-1]
    assert inspect(merged).persistent and merged.note == "half"
    assert merged not in session.dirty
    assert session.get(Pair, ("x", None)) is merged
    sql_log.clear()
    new = session.merge(Pair(a=None, b=None, note="nothing"))
    assert sql_log.matching("SELECT") == [] and inspect(new).pending
    session.expunge(new)
    # a key column never set (rather than set to None): no key yet, nothing looked up
    new = session.merge(Pair(a="x", note="unset b"))
    assert sql_log.matching("SELECT") == [] and inspect(new).pending
    session.expunge(new)


def test_merge_of_partly_null_key_with_allow_partial_pks_false_makes_a_new_object(
        Base, engine, session, sql_log):
    from sqlalchemy import Table

    t = Table("pairs2", Base.metadata, Column("a", String(10)), Column("b", String(10)))

    class Pair2(Base):
        __table__ = t
        __mapper_args__ = {"primary_key": [t.c.a, t.c.b], "allow_partial_pks": False}

    Base.metadata.create_all(engine)
    sql_log.clear()
    merged = session.merge(Pair2(a="x", b=None))
    assert sql_log.matching("SELECT") == [] and inspect(merged).pending
    session.expunge(merged)
