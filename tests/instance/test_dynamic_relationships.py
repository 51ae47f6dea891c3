"""Dynamic relationships (``lazy="dynamic"``, ``dynamic_loader()``): the attribute reads
as an ``AppenderQuery`` filtered to the parent; appends and removes are flushed like
changes to an ordinary collection, and the query autoflushes so they show up in it."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import (
    AppenderQuery,
    Query,
    attributes,
    backref,
    dynamic_loader,
    exc,
    joinedload,
    relationship,
    selectinload,
)


@pytest.fixture
def dyn(Base, engine):
    """User 1-* Address (dynamic, ordered by email, backref Address.user) and
    Item *-* Keyword (dynamic through item_keywords, backref Keyword.items)."""
    item_keywords = Table(
        "item_keywords", Base.metadata,
        Column("item_id", Integer, ForeignKey("items.id"), primary_key=True),
        Column("keyword_id", Integer, ForeignKey("keywords.id"), primary_key=True),
    )

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        addresses = relationship("Address", lazy="dynamic", backref="user",
                                 order_by="Address.email")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        keywords = dynamic_loader("Keyword", secondary=item_keywords, backref="items",
                                  order_by="Keyword.name")

    class Keyword(Base):
        __tablename__ = "keywords"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    Base.metadata.create_all(engine)
    return User, Address, Item, Keyword, item_keywords


def _values(entry):
    """Bound values of a logged statement (a tuple on SQLite, a dict on the servers)."""
    params = entry.parameters
    return list(params.values()) if isinstance(params, dict) else list(params)


def _emails(q):
    return [a.email for a in q]


def _saved_user(session, User, Address, *emails):
    u = User(name="ed", addresses=[Address(email=e) for e in emails])
    session.add(u)
    session.commit()
    return u


def test_attribute_is_an_appender_query_filtered_to_the_parent(dyn, session, sql_log):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "b@x", "a@x")
    other = _saved_user(session, User, Address, "c@x")
    q = u.addresses
    assert isinstance(q, AppenderQuery) and isinstance(q, Query)
    sql_log.clear()
    assert _emails(q) == ["a@x", "b@x"]
    assert _emails(other.addresses) == ["c@x"]
    sel = sql_log.matching("SELECT")
    assert len(sel) == 2
    assert "addresses.user_id =" in sel[0] and "ORDER BY addresses.email" in sel[0]
    assert _values(sql_log.entries[0]) == [u.id]


def test_append_then_query_shows_the_object_after_autoflush(dyn, session, sql_log, read_rows):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x")
    new = Address(email="n@x")
    u.addresses.append(new)
    assert new in session and new.user is u
    sql_log.clear()
    assert _emails(u.addresses) == ["a@x", "n@x"]
    kinds = [s.split()[0].upper() for s in sql_log.statements]
    assert kinds == ["INSERT", "SELECT"]  # the autoflush wrote the append first
    session.commit()
    assert read_rows("SELECT email FROM addresses WHERE user_id = :u ORDER BY email",
                     u=u.id) == [("a@x",), ("n@x",)]


def test_filter_on_dynamic_query_adds_to_the_parent_criterion(dyn, session, sql_log):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x", "b@y", "c@y")
    _saved_user(session, User, Address, "d@y")
    sql_log.clear()
    found = u.addresses.filter(Address.email.like("%@y")).all()
    assert [a.email for a in found] == ["b@y", "c@y"]
    (stmt,) = sql_log.statements
    assert "addresses.email LIKE" in stmt and "addresses.user_id =" in stmt
    assert u.id in _values(sql_log.entries[0])
    assert u.addresses.filter_by(email="c@y").one().email == "c@y"


def test_count_limit_offset_slices_first(dyn, session, sql_log):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "d@x", "b@x", "a@x", "c@x")
    sql_log.clear()
    assert u.addresses.count() == 4
    assert "count(" in sql_log.statements[0].lower()
    assert u.addresses.filter(Address.email > "b@x").count() == 2
    assert _emails(u.addresses.limit(2)) == ["a@x", "b@x"]
    assert _emails(u.addresses.offset(1).limit(2)) == ["b@x", "c@x"]
    assert _emails(u.addresses[1:3]) == ["b@x", "c@x"]
    assert u.addresses[3].email == "d@x"
    assert u.addresses.first().email == "a@x"
    with pytest.raises(exc.MultipleResultsFound):
        u.addresses.one()


def test_order_by_is_the_relationships_then_the_querys(dyn, session):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "b@x", "a@x", "c@x")
    assert _emails(u.addresses) == ["a@x", "b@x", "c@x"]
    assert _emails(u.addresses.order_by(None).order_by(Address.email.desc())) == [
        "c@x", "b@x", "a@x"]


def test_remove_sets_the_foreign_key_to_null(dyn, session, sql_log, read_rows):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x", "b@x")
    a = u.addresses.filter_by(email="a@x").one()
    u.addresses.remove(a)
    assert a.user is None
    assert attributes.get_history(u, "addresses", passive=True).deleted == [a]
    sql_log.clear()
    assert _emails(u.addresses) == ["b@x"]
    (update,) = sql_log.matching("UPDATE")
    assert update.startswith("UPDATE addresses SET user_id")
    assert None in _values(sql_log.entries[0])
    session.commit()
    assert read_rows("SELECT email, user_id FROM addresses ORDER BY email") == [
        ("a@x", None), ("b@x", u.id)]


def test_remove_with_delete_orphan_deletes_the_row(Base, engine, session, sql_log, read_rows):
    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        children = relationship("Child", lazy="dynamic", cascade="all, delete-orphan")

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        parent_id = Column(Integer, ForeignKey("parents.id"), nullable=False)

    Base.metadata.create_all(engine)
    p = Parent(children=[Child(name="x"), Child(name="y")])
    session.add(p)
    session.commit()
    x = p.children.filter_by(name="x").one()
    p.children.remove(x)
    sql_log.clear()
    session.commit()
    assert [s.split()[0].upper() for s in sql_log.statements] == ["DELETE"]
    assert read_rows("SELECT name FROM children") == [("y",)]
    # deleting the parent cascades to the children it finds with a query
    session.delete(p)
    session.commit()
    assert read_rows("SELECT name FROM children") == []
    assert read_rows("SELECT id FROM parents") == []


def test_deleting_parent_without_delete_cascade_clears_childrens_keys(dyn, session,
                                                                       read_rows):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x", "b@x")
    session.delete(u)
    session.commit()
    assert read_rows("SELECT email, user_id FROM addresses ORDER BY email") == [
        ("a@x", None), ("b@x", None)]


def test_many_to_many_append_and_remove_write_association_rows(dyn, session, sql_log,
                                                               read_rows):
    _u, _a, Item, Keyword, item_keywords = dyn
    red, blue, green = Keyword(name="red"), Keyword(name="blue"), Keyword(name="green")
    item = Item(name="i")
    item.keywords.extend([red, blue])
    session.add(item)
    session.commit()
    assert read_rows("SELECT k.name FROM item_keywords ik JOIN keywords k "
                     "ON k.id = ik.keyword_id ORDER BY k.name") == [("blue",), ("red",)]
    sql_log.clear()
    assert [k.name for k in item.keywords] == ["blue", "red"]
    (sel,) = sql_log.statements
    assert "item_keywords.item_id =" in sel and "keywords.id = item_keywords.keyword_id" in sel
    item.keywords.remove(red)
    item.keywords.append(green)
    sql_log.clear()
    session.commit()
    assert len(sql_log.matching("DELETE FROM item_keywords")) == 1
    assert len(sql_log.matching("INSERT INTO item_keywords")) == 1
    assert read_rows("SELECT k.name FROM item_keywords ik JOIN keywords k "
                     "ON k.id = ik.keyword_id ORDER BY k.name") == [("blue",), ("green",)]
    assert [k.name for k in item.keywords] == ["blue", "green"]
    assert item.keywords.filter(Keyword.name == "green").count() == 1
    assert [i.name for i in green.items] == ["i"]


def test_backref_assignment_shows_up_in_the_dynamic_query(dyn, session, read_rows):
    User, Address, *_ = dyn
    u1 = _saved_user(session, User, Address)
    u2 = _saved_user(session, User, Address)
    a = Address(email="a@x")
    a.user = u1
    assert a in session
    assert _emails(u1.addresses) == ["a@x"]
    a.user = u2
    assert _emails(u1.addresses) == [] and _emails(u2.addresses) == ["a@x"]
    session.commit()
    assert read_rows("SELECT user_id FROM addresses") == [(u2.id,)]
    # the many-to-one reads back through its own lazy load
    session.expire_all()
    assert u2.addresses.one().user is u2


def test_assigning_a_list_replaces_the_collection(dyn, session, read_rows):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x", "b@x")
    b = u.addresses.filter_by(email="b@x").one()
    c = Address(email="c@x")
    u.addresses = [b, c]
    assert c.user is u
    session.commit()
    assert read_rows("SELECT email, user_id FROM addresses ORDER BY email") == [
        ("a@x", None), ("b@x", u.id), ("c@x", u.id)]
    assert _emails(u.addresses) == ["b@x", "c@x"]


def test_transient_and_pending_parents_iterate_appended_objects_without_sql(
        dyn, make_session, sql_log):
    User, Address, *_ = dyn
    u = User(name="new")
    a, b = Address(email="b@x"), Address(email="a@x")
    u.addresses.append(a)
    u.addresses.extend([b])
    assert list(u.addresses) == [a, b] and u.addresses.count() == 2
    assert u.addresses[1] is b and u.addresses.first() is a
    u.addresses.remove(a)
    assert list(u.addresses) == [b]
    s = make_session(autoflush=False)
    s.add(u)
    assert b in s
    assert list(u.addresses) == [b]
    assert sql_log.count == 0
    s.commit()
    assert _emails(u.addresses) == ["a@x"]


def test_history_of_a_dynamic_relationship(dyn, session):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x")
    new = Address(email="n@x")
    u.addresses.append(new)
    hist = attributes.get_history(u, "addresses", passive=True)
    assert hist.added == [new] and not hist.deleted
    assert session.is_modified(u)
    full = attributes.get_history(u, "addresses")
    assert [x.email for x in full.unchanged] == ["a@x"]
    session.commit()
    assert not attributes.get_history(u, "addresses", passive=True).has_changes()


def test_detached_parent_gives_its_appended_members_with_a_warning(dyn, session,
                                                                   make_session, sql_log):
    # as SQLAlchemy does: the attribute still reads as a query; running it without a
    # Session can only answer the members appended since, and warns that it does
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x")
    before = u.addresses
    session.close()
    q = u.addresses
    assert isinstance(q, AppenderQuery)
    sql_log.clear()
    warning = r"Instance <User at 0x[0-9a-f]+> is detached, dynamic relationship User\.addresses"
    for read in (before.all, q.all, lambda: list(u.addresses), q.count, lambda: q[0:5]):
        with pytest.warns(exc.SAWarning, match=warning):
            assert read() in ([], 0)
    new = Address(email="new@x")
    q.append(new)
    with pytest.warns(exc.SAWarning, match=warning):
        assert q.all() == [new]
    assert sql_log.matching("SELECT") == []
    s2 = make_session()
    s2.add(u)
    assert sorted(a.email for a in u.addresses) == ["a@x", "new@x"]  # a Session again


def test_detached_parent_refuses_to_build_queries(dyn, session):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x")
    session.close()
    for build in (lambda q: q.filter_by(email="a@x"), lambda q: q.order_by(Address.id),
                  lambda q: q.first(), lambda q: q.limit(1)):
        with pytest.raises(exc.DetachedInstanceError, match=r"User\.addresses of <User"):
            build(u.addresses)


def test_eager_loader_options_are_refused(dyn, session):
    User, Address, *_ = dyn
    for opt in (joinedload(User.addresses), selectinload("addresses")):
        with pytest.raises(exc.InvalidRequestError, match=r"User\.addresses is a dynamic"):
            session.query(User).options(opt).all()


@pytest.mark.parametrize("uselist", [None, False, True])
def test_dynamic_on_a_many_to_one_is_refused(Base, uselist):
    kw = {} if uselist is None else {"uselist": uselist}

    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)

    class Pet(Base):
        __tablename__ = "pets"
        id = Column(Integer, primary_key=True)
        owner_id = Column(Integer, ForeignKey("owners.id"))
        owner = relationship(Owner, lazy="dynamic", **kw)

    from datamapper import clear_mappers, configure_mappers

    try:
        # InvalidRequestError, as SQLAlchemy raises (not ArgumentError): even with
        # uselist=True a many-to-one names one row, which a query of members can't change
        with pytest.raises(exc.InvalidRequestError, match=r"Pet\.owner with lazy='dynamic'"):
            configure_mappers()
    finally:
        clear_mappers()  # the broken mapping must not reach later tests


def test_dynamic_with_uselist_false_is_refused(Base):
    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)
        pet = relationship("Pet", lazy="dynamic", uselist=False)

    class Pet(Base):
        __tablename__ = "pets"
        id = Column(Integer, primary_key=True)
        owner_id = Column(Integer, ForeignKey("owners.id"))

    from datamapper import clear_mappers, configure_mappers

    try:
        with pytest.raises(exc.InvalidRequestError, match=r"Owner\.pet with lazy='dynamic'"):
            configure_mappers()
    finally:
        clear_mappers()


def test_dynamic_backref_of_a_many_to_one(Base, engine, session, read_rows):
    class Blog(Base):
        __tablename__ = "blogs"
        id = Column(Integer, primary_key=True)

    class Post(Base):
        __tablename__ = "posts"
        id = Column(Integer, primary_key=True)
        title = Column(String(20))
        blog_id = Column(Integer, ForeignKey("blogs.id"))
        blog = relationship(Blog, backref=backref("posts", lazy="dynamic",
                                                  order_by=lambda: Post.title))

    Base.metadata.create_all(engine)
    blog = Blog()
    session.add(blog)
    Post(title="b", blog=blog)
    blog.posts.append(Post(title="a"))
    assert [p.title for p in blog.posts] == ["a", "b"]
    session.commit()
    assert read_rows("SELECT title, blog_id FROM posts ORDER BY title") == [
        ("a", blog.id), ("b", blog.id)]


def test_add_and_add_all_are_the_2x_spellings_of_append_and_extend(dyn, session, read_rows):
    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x")
    u.addresses.add(Address(email="b@x"))
    u.addresses.add_all([Address(email="c@x"), Address(email="d@x")])
    session.commit()
    assert [r[1:] for r in read_rows(Address.__table__)] == [
        ("a@x", u.id), ("b@x", u.id), ("c@x", u.id), ("d@x", u.id)]
    assert _emails(u.addresses) == ["a@x", "b@x", "c@x", "d@x"]


def test_history_of_dynamic_collection_with_passive_flags(dyn, session):
    from datamapper import PassiveFlag

    User, Address, *_ = dyn
    u = _saved_user(session, User, Address, "a@x")
    a = Address(email="b@x")
    u.addresses.add(a)
    passive = attributes.get_history(u, "addresses", PassiveFlag.PASSIVE_NO_FETCH)
    assert passive == ([a], [], [])
    committed = attributes.get_history(u, "addresses", attributes.LOAD_AGAINST_COMMITTED)
    assert committed == ([a], [], [])


def test_loaded_history_nets_pending_changes_against_the_rows(dyn, make_session):
    """History with loading (PASSIVE_OFF) compares the pending changes with the rows:
    re-adding a member already in the database is no addition, removing an object
    that never was a member is no deletion; the passive history keeps both as recorded."""
    from datamapper import PassiveFlag

    User, Address, *_ = dyn
    s = make_session(autoflush=False)
    u = User(name="u")
    a1, stranger = Address(email="a1"), Address(email="x")
    u.addresses.append(a1)
    s.add_all([u, stranger])
    s.flush()
    u.addresses.append(a1)  # already a member in the database
    u.addresses.remove(stranger)  # never was one
    assert attributes.get_history(u, "addresses", PassiveFlag.PASSIVE_OFF) == ([], [a1], [])
    assert attributes.get_history(u, "addresses", PassiveFlag.PASSIVE_NO_FETCH) == (
        [a1], [], [stranger])


def test_negative_index_of_a_dynamic_relationship_is_refused(dyn, session):
    User, Address, *_ = dyn
    u = User(name="u", addresses=[Address(email="a"), Address(email="b")])
    with pytest.raises(IndexError, match="negative"):
        u.addresses[-1]  # pending members only
    session.add(u)
    session.commit()
    assert [a.email for a in u.addresses[0:2]] == ["a", "b"]
    for item in (-1, slice(-2, None), slice(None, -1)):
        with pytest.raises(IndexError, match="negative"):
            u.addresses[item]


def test_set_committed_value_on_a_dynamic_relationship_is_refused(dyn, session, read_rows):
    User, Address, *_ = dyn
    u = User(name="u")
    with pytest.raises(exc.NoCollectionError, match=r"dynamic relationship User\.addresses"):
        attributes.set_committed_value(u, "addresses", [Address(email="x")])
    assert issubclass(exc.NoCollectionError, NotImplementedError)  # SQLAlchemy's class
    session.add(u)
    session.commit()
    assert read_rows(Address.__table__) == []  # nothing slipped in


def test_statement_of_a_pending_parent_runs_after_its_autoflush(dyn, session, read_rows):
    # the statement reads the parent's key when it runs: after the autoflush gave it one
    User, Address, *_ = dyn
    u = User(name="ed")
    u.addresses.extend([Address(email=e) for e in "abcdef"])
    session.add(u)
    stmt = u.addresses.statement
    found = session.scalars(stmt.where(Address.email.in_(["c", "e", "f"]))).all()
    assert sorted(a.email for a in found) == ["c", "e", "f"]
    assert all(a in session for a in found)  # objects, not column values
    for a in found:
        u.addresses.remove(a)
    session.commit()
    assert sorted(r[1] for r in read_rows(Address.__table__) if r[2] == u.id) == ["a", "b", "d"]


def test_merge_of_a_new_copy_with_dynamic_members_replaces_the_collection(
        dyn, make_session, read_rows):
    User, Address, *_ = dyn
    # future=True: no cascade_backrefs, which would pull the new User (whose addresses
    # are in the session) into the session as a pending object of its own
    s = make_session(autoflush=False, future=True)
    a1, a2, a3 = Address(email="a1"), Address(email="a2"), Address(email="a3")
    u = User(name="jack", addresses=[a2, a3])
    s.add_all([u, a1])
    s.flush()
    merged = s.merge(User(id=u.id, name="jane", addresses=[a1, a3]))
    assert merged is u
    hist = attributes.get_history(u, "addresses")
    assert (hist.added, hist.deleted) == ([a1], [a2]) and hist.unchanged == [a3]
    s.commit()
    assert sorted((r[1], r[2]) for r in read_rows(Address.__table__)) == [
        ("a1", u.id), ("a2", None), ("a3", u.id)]


def test_merge_of_a_detached_copy_applies_its_dynamic_appends_and_removes(
        dyn, make_session, read_rows):
    User, Address, *_ = dyn
    s = make_session()
    u = User(name="jack", addresses=[Address(email="a"), Address(email="b")])
    s.add(u)
    s.commit()
    b = u.addresses.filter_by(email="b").one()
    s.close()
    u.addresses.append(Address(email="c"))
    u.addresses.remove(b)
    s2 = make_session()
    merged = s2.merge(u)
    s2.commit()
    assert merged is not u
    assert sorted(r[1] for r in read_rows(Address.__table__) if r[2] == merged.id) == ["a", "c"]


def test_merge_without_dynamic_members_leaves_the_collection(dyn, make_session, read_rows):
    User, Address, *_ = dyn
    s = make_session(autoflush=False)
    u = User(name="jack", addresses=[Address(email="a2"), Address(email="a3")])
    s.add(u)
    s.flush()
    s.merge(User(id=u.id, name="jane"))
    hist = attributes.get_history(u, "addresses")
    assert not hist.added and not hist.deleted and len(hist.unchanged) == 2
    assert [a.email for a in s.scalars(u.addresses.statement)] == ["a2", "a3"]


@pytest.mark.parametrize("autoflush", [True, False])
def test_assignment_reads_the_rows_after_an_autoflush(dyn, make_session, read_rows,
                                                      autoflush):
    # assigning compares with the collection's rows, read by a query: with autoflush on,
    # that query first writes the earlier assignment, as any dynamic read does
    User, Address, *_ = dyn
    s = make_session(autoflush=autoflush)
    u = User(name="u1")
    s.add(u)
    s.flush()
    a1, a2, a3, a4 = (Address(email=e) for e in ("a1", "a2", "a3", "a4"))
    u.addresses = [a1, a2]
    u.addresses = [a2, a3, a4]
    hist = attributes.get_history(u, "addresses")
    if autoflush:
        assert (hist.added, hist.unchanged, hist.deleted) == ([a3, a4], [a2], [a1])
    else:
        assert (hist.added, hist.unchanged, hist.deleted) == ([a2, a3, a4], [], [])
    s.commit()
    rows = sorted((r[1], r[2]) for r in read_rows(Address.__table__))
    # a1 went into the session with its append (save-update cascade): a row either way
    assert rows == [("a1", None), ("a2", u.id), ("a3", u.id), ("a4", u.id)]


def test_statement_kept_past_a_rollback_reads_the_parent_key_again(dyn, make_session):
    User, Address, *_ = dyn
    s = make_session(expire_on_commit=False)
    u = User(name="jack")
    u.addresses.append(Address(email="kept"))
    s.add(u)
    s.commit()
    u.addresses.append(Address(email="rolled back"))
    stmt = u.addresses.statement
    assert sorted(a.email for a in s.scalars(stmt)) == ["kept", "rolled back"]
    s.rollback()  # expires u: its key comes back from the identity
    assert [a.email for a in s.scalars(stmt)] == ["kept"]


def test_query_class_methods_refine_the_dynamic_query(Base, engine, make_session, sql_log):
    """``query_class=``: the attribute's query is also of that Query subclass; its own
    methods refine the query filtered to the parent, and appends still flush."""

    class EmailQuery(Query):
        def at(self, domain):
            return self.filter(Mailbox.email.like(f"%@{domain}"))

    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)
        boxes = relationship("Mailbox", lazy="dynamic", query_class=EmailQuery,
                             order_by="Mailbox.id")

    class Mailbox(Base):
        __tablename__ = "mailboxes"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        owner_id = Column(Integer, ForeignKey("owners.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    a, b = Owner(), Owner()
    s.add_all([a, b])
    a.boxes.append(Mailbox(email="x@one.org"))
    a.boxes.append(Mailbox(email="y@two.org"))
    b.boxes.append(Mailbox(email="z@one.org"))
    s.commit()
    q = a.boxes
    assert isinstance(q, EmailQuery) and isinstance(q, AppenderQuery)
    assert [m.email for m in q.at("one.org")] == ["x@one.org"]
    assert "LIKE" in sql_log.statements[-1].upper()
    assert [m.email for m in b.boxes.at("one.org").all()] == ["z@one.org"]


def test_query_class_must_be_a_query_subclass(Base):
    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)
        boxes = relationship("Mailbox", lazy="dynamic", query_class=dict)

    class Mailbox(Base):
        __tablename__ = "mailboxes"
        id = Column(Integer, primary_key=True)
        owner_id = Column(Integer, ForeignKey("owners.id"))

    with pytest.raises(exc.ArgumentError, match="query_class=.*subclass of datamapper.Query"):
        Owner().boxes  # noqa: B018
