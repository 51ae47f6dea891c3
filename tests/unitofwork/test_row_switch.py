"""Row switch: an object deleted and a new one with the same primary key added in
one flush become one UPDATE of the row; the new object takes the persistent
identity, the deleted one leaves the session; rollback brings both back."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import exc, inspect, relationship


def _writes(sql_log):
    return [st.split()[0].upper() for st in sql_log.statements
            if st.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


@pytest.fixture
def Item(Base, engine):
    class Item(Base):
        __tablename__ = "items"
        code = Column(String(20), primary_key=True)
        name = Column(String(50))
        note = Column(String(50))

    Base.metadata.create_all(engine)
    return Item


@pytest.mark.parametrize("weak", [True, False], ids=["weak_map", "strong_map"])
@pytest.mark.parametrize("order", ["delete_then_add", "add_then_delete"])
def test_row_switch_on_natural_key_is_one_update(
        Item, make_session, read_rows, sql_log, order, weak):
    s = make_session(weak_identity_map=weak)
    s.add(Item(code="k", name="old", note="n"))
    s.commit()
    old = s.get(Item, "k")
    new = Item(code="k", name="new")
    if order == "delete_then_add":
        s.delete(old)
        s.add(new)
    else:
        s.add(new)
        s.delete(old)
    sql_log.clear()
    s.flush()
    assert _writes(sql_log) == ["UPDATE"]
    assert inspect(new).persistent
    assert inspect(old).deleted
    assert s.get(Item, "k") is new
    s.commit()
    assert inspect(old).detached
    assert read_rows("SELECT code, name, note FROM items") == [("k", "new", "n")]
    # the column the new object did not set keeps the row's value, read back on use
    assert new.note == "n"


def test_row_switch_with_composite_key(Base, engine, make_session, read_rows):
    class Cell(Base):
        __tablename__ = "cells"
        row = Column(Integer, primary_key=True, autoincrement=False)
        col = Column(String(5), primary_key=True)
        value = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Cell(row=1, col="a", value="x"), Cell(row=1, col="b", value="y")])
    s.commit()
    s.delete(s.get(Cell, (1, "a")))
    new = Cell(row=1, col="a", value="z")
    s.add(new)
    s.commit()
    assert read_rows("SELECT row, col, value FROM cells ORDER BY row, col") == [
        (1, "a", "z"), (1, "b", "y")]
    assert s.get(Cell, (1, "a")) is new


def test_row_switch_on_integer_key_given_explicitly(Base, engine, make_session, read_rows,
                                                   sql_log):
    class Thing(Base):
        __tablename__ = "things"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Thing(id=7, name="a"))
    s.commit()
    s.delete(s.get(Thing, 7))
    s.add(Thing(id=7, name="b"))
    sql_log.clear()
    s.commit()
    assert _writes(sql_log) == ["UPDATE"]
    assert read_rows("SELECT id, name FROM things") == [(7, "b")]


@pytest.mark.parametrize("weak", [True, False], ids=["weak_map", "strong_map"])
def test_row_switch_rolled_back_restores_both_objects(Item, make_session, read_rows, weak):
    s = make_session(weak_identity_map=weak)
    s.add(Item(code="k", name="old"))
    s.commit()
    old = s.get(Item, "k")
    s.delete(old)
    new = Item(code="k", name="new")
    s.add(new)
    s.flush()
    s.rollback()
    assert inspect(old).persistent
    assert inspect(new).transient
    assert s.get(Item, "k") is old
    assert old.name == "old"
    assert read_rows("SELECT code, name FROM items") == [("k", "old")]


def test_row_switch_fails_cleanly_when_the_row_is_gone(Item, engine, make_session, read_rows):
    s = make_session(expire_on_commit=False)
    old = Item(code="k", name="old")
    s.add(old)
    s.commit()
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM items")
    s.delete(old)
    new = Item(code="k", name="new")
    s.add(new)
    with pytest.raises(exc.StaleDataError):
        s.flush()
    s.rollback()
    assert inspect(new).transient
    assert read_rows("SELECT code FROM items") == []


def test_two_new_objects_for_one_deleted_row_still_refused(Item, make_session):
    s = make_session()
    s.add(Item(code="k", name="old"))
    s.commit()
    s.delete(s.get(Item, "k"))
    s.add_all([Item(code="k", name="a"), Item(code="k", name="b")])
    with pytest.raises(exc.FlushError, match="same identity key"):
        s.flush()


# -- versioned rows -----------------------------------------------------------------------
@pytest.fixture
def Doc(Base, engine):
    class Doc(Base):
        __tablename__ = "docs"
        code = Column(String(20), primary_key=True)
        body = Column(String(50))
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}

    Base.metadata.create_all(engine)
    return Doc


@pytest.mark.parametrize("expired", [False, True], ids=["loaded", "expired"])
def test_row_switch_of_versioned_row_checks_the_old_version(
        Doc, make_session, read_rows, sql_log, expired):
    s = make_session()
    s.add(Doc(code="d", body="one"))
    s.commit()
    old = s.get(Doc, "d")
    if expired:
        s.expire(old)
    s.delete(old)
    new = Doc(code="d", body="two")
    s.add(new)
    sql_log.clear()
    s.commit()
    updates = [e for e in sql_log.entries if e.statement.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1 and "version" in updates[0].statement.split("WHERE")[1]
    assert read_rows("SELECT code, body, version FROM docs") == [("d", "two", 2)]
    assert new.version == 2


def test_row_switch_of_versioned_row_changed_elsewhere_is_stale(Doc, engine, make_session,
                                                                 read_rows):
    s = make_session(expire_on_commit=False)
    old = Doc(code="d", body="one")
    s.add(old)
    s.commit()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE docs SET version = 5")
    s.delete(old)
    s.add(Doc(code="d", body="two"))
    with pytest.raises(exc.StaleDataError):
        s.flush()
    s.rollback()
    assert read_rows("SELECT code, body, version FROM docs") == [("d", "one", 5)]


# -- relationships ---------------------------------------------------------------------------
def _parent_child(Base, engine, cascade=None):
    class Parent(Base):
        __tablename__ = "parents"
        code = Column(String(20), primary_key=True)
        name = Column(String(20))
        kw = {"cascade": cascade} if cascade else {}
        children = relationship("Child", backref="parent", order_by="Child.id", **kw)

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_code = Column(String(20), ForeignKey("parents.code"))

    Base.metadata.create_all(engine)
    return Parent, Child


@pytest.mark.parametrize("cascade", [None, "all, delete-orphan"])
def test_row_switch_with_children_of_the_old_object(Base, engine, make_session, read_rows,
                                                    cascade):
    Parent, Child = _parent_child(Base, engine, cascade)
    s = make_session()
    s.add(Parent(code="p", name="old", children=[Child(id=1), Child(id=2)]))
    s.commit()
    old = s.get(Parent, "p")
    old.children  # noqa: B018
    s.delete(old)
    new = Parent(code="p", name="new", children=[Child(id=3)])
    s.add(new)
    s.commit()
    assert read_rows("SELECT code, name FROM parents") == [("p", "new")]
    expected = [(3, "p")] if cascade else [(1, None), (2, None), (3, "p")]
    assert read_rows("SELECT id, parent_code FROM children ORDER BY id") == expected
    assert [c.id for c in new.children] == [3]


def test_row_switch_new_object_takes_over_a_child(Base, engine, make_session, read_rows):
    Parent, Child = _parent_child(Base, engine)
    s = make_session()
    s.add(Parent(code="p", name="old", children=[Child(id=1), Child(id=2)]))
    s.commit()
    old = s.get(Parent, "p")
    kept = old.children[0]
    s.delete(old)
    new = Parent(code="p", name="new")
    s.add(new)
    kept.parent = new
    s.commit()
    assert read_rows("SELECT id, parent_code FROM children ORDER BY id") == [
        (1, "p"), (2, None)]


def test_row_switch_with_many_to_many_rows(Base, engine, make_session, read_rows):
    tags_of = Table("post_tags", Base.metadata,
                    Column("post_code", String(20), ForeignKey("posts.code"), primary_key=True),
                    Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True))

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True, autoincrement=False)

    class Post(Base):
        __tablename__ = "posts"
        code = Column(String(20), primary_key=True)
        tags = relationship(Tag, secondary=tags_of, order_by=Tag.id)

    Base.metadata.create_all(engine)
    s = make_session()
    t1, t2, t3 = Tag(id=1), Tag(id=2), Tag(id=3)
    s.add(Post(code="p", tags=[t1, t2]))
    s.add(t3)
    s.commit()
    old = s.get(Post, "p")
    old.tags  # noqa: B018
    s.delete(old)
    new = Post(code="p", tags=[s.get(Tag, 2), s.get(Tag, 3)])
    s.add(new)
    s.commit()
    assert read_rows("SELECT post_code, tag_id FROM post_tags ORDER BY tag_id") == [
        ("p", 2), ("p", 3)]
    s.expire_all()
    assert [t.id for t in s.get(Post, "p").tags] == [2, 3]


@pytest.fixture
def one_to_one(Base, engine):
    """A one-to-one whose child's primary key is its foreign key to the parent."""
    class P(Base):
        __tablename__ = "rs_p"
        id = Column(Integer, primary_key=True, autoincrement=False)
        child = relationship("C", uselist=False, cascade="all, delete-orphan",
                             backref="parent")

    class C(Base):
        __tablename__ = "rs_c"
        id = Column(Integer, ForeignKey("rs_p.id"), primary_key=True, autoincrement=False)
        data = Column(String(20))

    Base.metadata.create_all(engine)
    return P, C


def test_replaced_one_to_one_child_whose_key_comes_from_the_parent_is_a_row_switch(
        one_to_one, make_session, read_rows, sql_log):
    """The old child is an orphan; the new one gets the parent's key in the flush: the
    same key, so the row is kept and UPDATEd (no blank-out of the orphan's key)."""
    P, C = one_to_one
    s = make_session()
    s.add(P(id=1, child=C(data="old")))
    s.commit()
    s.close()
    p = s.merge(P(id=1, child=C(data="new")))
    sql_log.clear()
    s.flush()
    assert _writes(sql_log) == ["UPDATE"]
    assert inspect(p.child).persistent and p.child in s
    s.commit()
    assert read_rows(C.__table__) == [(1, "new")]


def test_orphan_of_an_expired_parent_makes_way_for_a_new_row(Base, engine, make_session,
                                                              read_rows):
    """A child taken out of its delete-orphan parent's collection is an orphan even if
    the parent is expired before the flush; a new object with its key takes its row."""
    class P(Base):
        __tablename__ = "ro_p"
        id = Column(Integer, primary_key=True, autoincrement=False)
        children = relationship("K", cascade="all, delete-orphan", backref="parent")

    class K(Base):
        __tablename__ = "ro_k"
        id = Column(Integer, primary_key=True, autoincrement=False)
        p_id = Column(Integer, ForeignKey("ro_p.id"))
        name = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(P(id=1, children=[K(id=1, name="old"), K(id=2, name="stays")]))
    s.commit()
    p = s.get(P, 1)
    p.children.remove(s.get(K, 1))
    s.expire(p)
    s.add(K(id=1, name="new"))
    s.commit()
    # one UPDATE of the row: the columns the new object does not set keep the row's
    # values (p_id here), as in SQLAlchemy's row switch
    assert read_rows(K.__table__) == [(1, 1, "new"), (2, 1, "stays")]


@pytest.mark.parametrize("parent_switches", [True, False])
def test_row_switch_of_a_child_whose_key_comes_from_a_new_parents_natural_key(
        Base, engine, make_session, read_rows, sql_log, parent_switches):
    """Parent and child deleted, and new ones with the same natural keys added: the
    child's key comes from the new parent (not yet written), and the child's row is
    still UPDATEd in place (it was INSERTed again: duplicate key)."""
    class Owner(Base):
        __tablename__ = "rs_owner"
        username = Column(String(50), primary_key=True)

    class Mail(Base):
        __tablename__ = "rs_mail"
        username = Column(String(50), ForeignKey("rs_owner.username"), primary_key=True)
        email = Column(String(50), primary_key=True)
        etc = Column(String(50))
        owner = relationship(Owner)

    Base.metadata.create_all(engine)
    s = make_session()
    u1 = Owner(username="ed")
    a1 = Mail(owner=u1, email="ed@host1")
    s.add_all([u1, a1])
    s.commit()
    if parent_switches:
        s.delete(u1)
        u2 = Owner(username="ed")
    else:
        u2 = u1
    s.delete(a1)
    a2 = Mail(owner=u2, email="ed@host1", etc="foo")
    s.add(a2)
    sql_log.clear()
    s.commit()
    assert "INSERT" not in _writes(sql_log)
    assert read_rows("SELECT username, email, etc FROM rs_mail") == [("ed", "ed@host1", "foo")]
    assert inspect(a2).persistent and inspect(a1).detached
