"""delete-orphan and objects that were never written (issue 9, item 10).

A pending object that leaves its delete-orphan parent before the first flush
(removed from the collection, left out of a new list, its many-to-one set to
None, replaced as a one-to-one) is expunged, never INSERTed with a NULL foreign
key; when the parent is outside the object's session at that moment, the
object is marked and the flush expunges it.  An object that is attached again,
or that the program adds to the session itself afterwards, is inserted.  This is
what SQLAlchemy's ORM does (checked scenario by scenario against the installed
``sqlalchemy.orm``).  A persistent child moved to another parent through the same
delete-orphan relationship is no orphan either.
"""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table

from datamapper import backref, declarative_base, exc, relationship


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)
    user_kw = Table("user_kw", metadata,
                    Column("user_id", ForeignKey("users.id"), primary_key=True),
                    Column("kw_id", ForeignKey("keywords.id"), primary_key=True))

    class Pref(Base):
        __tablename__ = "prefs"
        id = Column(Integer, primary_key=True, autoincrement=False)

    class Keyword(Base):
        __tablename__ = "keywords"
        id = Column(Integer, primary_key=True, autoincrement=False)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True, autoincrement=False)
        pref_id = Column(Integer, ForeignKey("prefs.id"))
        items = relationship("Item", cascade="all, delete-orphan", backref="user",
                             order_by="Item.id")
        notes = relationship("Note", cascade="all, delete-orphan", lazy="dynamic")
        tasks = relationship("Task", cascade="all, delete-orphan")  # no backref
        profile = relationship("Profile", uselist=False, cascade="all, delete-orphan",
                               backref="user")
        pref = relationship(Pref, cascade="all, delete-orphan", single_parent=True)
        keywords = relationship(Keyword, secondary=user_kw, cascade="all, delete-orphan",
                                single_parent=True)

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True, autoincrement=False)
        user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
        parts = relationship("Part", cascade="all, delete-orphan")

    class Part(Base):
        __tablename__ = "parts"
        id = Column(Integer, primary_key=True, autoincrement=False)
        item_id = Column(Integer, ForeignKey("items.id"), nullable=False)

    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True, autoincrement=False)
        user_id = Column(Integer, ForeignKey("users.id"), nullable=False)

    class Task(Base):
        __tablename__ = "tasks"
        id = Column(Integer, primary_key=True, autoincrement=False)
        user_id = Column(Integer, ForeignKey("users.id"), nullable=False)

    class Profile(Base):
        __tablename__ = "profiles"
        id = Column(Integer, primary_key=True, autoincrement=False)
        user_id = Column(Integer, ForeignKey("users.id"), nullable=False)

    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("nodes.id"))
        children = relationship("Node", cascade="all, delete-orphan",
                                backref=backref("parent", remote_side=[id]))

    metadata.create_all(engine)

    class M:
        pass

    m = M()
    for cls in (User, Item, Part, Note, Task, Profile, Pref, Keyword, Node):
        setattr(m, cls.__name__, cls)
    m.user_kw = user_kw
    return m


@pytest.fixture
def user(models, session):
    u = models.User(id=1)
    session.add(u)
    session.commit()
    return u


def _inserts_into(sql_log, table):
    return [s for s in sql_log.statements if s.startswith(f"INSERT INTO {table} ")]


# -- pending orphans are expunged and never inserted ------------------------------------

def test_pending_item_removed_from_collection_is_expunged_and_not_inserted(
        models, session, user, sql_log, read_rows):
    item = models.Item(id=1)
    user.items.append(item)
    assert item in session
    user.items.remove(item)
    assert item not in session
    session.commit()
    assert _inserts_into(sql_log, "items") == []
    assert read_rows(models.Item.__table__) == []


def test_pending_item_left_out_of_a_new_list_is_not_inserted(
        models, session, user, read_rows):
    dropped = models.Item(id=1)
    user.items.append(dropped)
    user.items = [models.Item(id=2)]
    assert dropped not in session
    session.commit()
    assert read_rows(models.Item.__table__) == [(2, 1)]


def test_pending_item_whose_many_to_one_is_set_to_none_is_not_inserted(
        models, session, user, read_rows):
    item = models.Item(id=1, user=user)
    assert item in session
    item.user = None  # the backref takes it out of user.items
    assert item not in session
    session.commit()
    assert read_rows(models.Item.__table__) == []


def test_replaced_or_cleared_pending_one_to_one_is_not_inserted(
        models, session, user, read_rows):
    first, second = models.Profile(id=1), models.Profile(id=2)
    user.profile = first
    user.profile = second
    assert first not in session
    session.commit()
    assert read_rows(models.Profile.__table__) == [(2, 1)]
    third = models.Profile(id=3)
    user.profile = third
    user.profile = None
    assert third not in session
    session.commit()
    assert read_rows(models.Profile.__table__) == []


def test_pending_target_of_delete_orphan_many_to_one_is_not_inserted(
        models, session, user, read_rows):
    dropped = models.Pref(id=1)
    user.pref = dropped
    user.pref = models.Pref(id=2)
    assert dropped not in session
    session.commit()
    assert read_rows(models.Pref.__table__) == [(2,)]
    assert read_rows(models.User.__table__) == [(1, 2)]


def test_pending_many_to_many_member_removed_is_not_inserted(
        models, session, user, read_rows):
    kw = models.Keyword(id=1)
    user.keywords.append(kw)
    user.keywords.remove(kw)
    assert kw not in session
    session.commit()
    assert read_rows(models.Keyword.__table__) == []
    assert read_rows(models.user_kw) == []


def test_pending_self_referential_child_let_go_is_not_inserted(
        models, session, read_rows):
    root = models.Node(id=1)
    session.add(root)
    session.flush()
    removed, unparented = models.Node(id=2), models.Node(id=3)
    root.children.append(removed)
    root.children.remove(removed)
    unparented.parent = root
    unparented.parent = None
    assert removed not in session and unparented not in session
    session.commit()
    assert read_rows(models.Node.__table__) == [(1, None)]


def test_pending_member_removed_from_dynamic_relationship_is_not_inserted(
        models, session, user, read_rows):
    note = models.Note(id=1)
    user.notes.append(note)
    user.notes.remove(note)
    assert note not in session
    session.commit()
    assert read_rows(models.Note.__table__) == []


def test_pending_orphan_takes_its_own_pending_children_along(
        models, session, user, sql_log, read_rows):
    item = models.Item(id=1, parts=[models.Part(id=1)])
    user.items.append(item)
    part = item.parts[0]
    assert part in session
    user.items.remove(item)
    assert item not in session and part not in session
    session.commit()
    assert _inserts_into(sql_log, "items") == [] and _inserts_into(sql_log, "parts") == []


def test_pending_orphan_removed_with_autoflush_off_is_not_inserted(
        models, session, user, read_rows):
    item = models.Item(id=1)
    user.items.append(item)
    with session.no_autoflush:
        del user.items[0]
    session.commit()
    assert read_rows(models.Item.__table__) == []


def test_orphan_marked_while_parent_was_outside_the_session_is_expunged_by_the_flush(
        models, session, read_rows):
    outside = models.User(id=1)  # never added
    task = models.Task(id=1)
    outside.tasks.append(task)
    session.add(task)  # the task alone is pending
    outside.tasks.remove(task)
    assert task in session  # nothing tells the session yet...
    session.add(models.User(id=2))
    session.commit()  # ...the flush drops it
    assert task not in session
    assert read_rows(models.Task.__table__) == []
    assert read_rows(models.User.__table__) == [(2, None)]


def test_orphan_marked_while_its_parent_was_detached_is_expunged_by_the_flush(
        models, session, user, read_rows):
    user.tasks  # loaded: the removal below is seen by the collection
    session.expunge(user)
    task = models.Task(id=1)
    session.add(task)
    user.tasks.append(task)
    user.tasks.remove(task)
    session.commit()
    assert read_rows(models.Task.__table__) == []


# -- objects that are not orphans (any more) are inserted ---------------------------------

def test_pending_item_moved_to_another_parent_is_inserted_there(
        models, session, user, read_rows):
    other = models.User(id=2)
    session.add(other)
    item = models.Item(id=1)
    user.items.append(item)
    user.items.remove(item)
    other.items.append(item)
    assert item in session
    session.commit()
    assert read_rows(models.Item.__table__) == [(1, 2)]


def test_marked_orphan_attached_to_a_parent_again_is_inserted(models, session, read_rows):
    outside = models.User(id=1)
    task = models.Task(id=1)
    outside.tasks.append(task)
    session.add(task)
    outside.tasks.remove(task)
    other = models.User(id=2)
    session.add(other)
    other.tasks.append(task)
    session.commit()
    assert read_rows(models.Task.__table__) == [(1, 2)]


def test_item_added_explicitly_after_its_removal_is_inserted_and_the_database_decides(
        models, session, user, read_rows):
    item = models.Item(id=1)
    user.items.append(item)
    user.items.remove(item)
    session.add(item)  # the program asks for it: it is not dropped silently
    assert item in session
    with pytest.raises(exc.IntegrityError):
        session.commit()
    session.rollback()
    assert read_rows(models.Item.__table__) == []


def test_item_that_never_had_a_parent_is_inserted_and_the_database_decides(
        models, session, user):
    session.add(models.Item(id=1))
    with pytest.raises(exc.IntegrityError):
        session.commit()
    session.rollback()


# -- persistent children moved between delete-orphan parents --------------------------------

@pytest.mark.parametrize("with_backref", [True, False], ids=["backref", "no-backref"])
def test_persistent_child_moved_to_another_parent_is_updated_not_deleted(
        metadata, engine, make_session, read_rows, with_backref):
    Base = declarative_base(metadata=metadata)
    kw = {"backref": "parent"} if with_backref else {}

    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True, autoincrement=False)
        children = relationship("Child", cascade="all, delete-orphan", **kw)

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("parents.id"), nullable=False)

    metadata.create_all(engine)
    session = make_session()
    p1, p2 = Parent(id=1, children=[Child(id=1)]), Parent(id=2)
    session.add_all([p1, p2])
    session.commit()
    child = p1.children[0]
    p2.children  # loaded before the move: no autoflush in between
    p1.children.remove(child)
    p2.children.append(child)
    session.commit()
    assert read_rows(Child.__table__) == [(1, 2)]


# -- a new object that starts keeping history keeps what it already holds ------------------

def test_new_child_claimed_by_single_parent_keeps_its_own_children_linked(
        metadata, engine, session, read_rows):
    Base = declarative_base(metadata=metadata)

    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True, autoincrement=False)
        boxes = relationship("Box", single_parent=True, cascade="all, delete-orphan")

    class Box(Base):
        __tablename__ = "boxes"
        id = Column(Integer, primary_key=True, autoincrement=False)
        owner_id = Column(Integer, ForeignKey("owners.id"))
        things = relationship("Thing")

    class Thing(Base):
        __tablename__ = "things"
        id = Column(Integer, primary_key=True, autoincrement=False)
        box_id = Column(Integer, ForeignKey("boxes.id"))

    metadata.create_all(engine)
    box = Box(id=1, things=[Thing(id=1)])  # filled before anything tracks it
    owner = Owner(id=1)
    owner.boxes.append(box)  # single_parent bookkeeping now lives on the box
    session.add(owner)
    session.commit()
    assert read_rows(Thing.__table__) == [(1, 1)]
