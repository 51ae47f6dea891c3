"""The dependency-ordered flush: exact SQL order for representative graphs, key
propagation, association rows, de-association, cycles, determinism."""

import logging
import random
import re

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import backref, exc, relationship


def shape(sql_log, *tables):
    """(verb, table) for each recorded INSERT/UPDATE/DELETE touching ``tables``."""
    out = []
    for stmt in sql_log.statements:
        m = re.match(r"\s*(INSERT INTO|UPDATE|DELETE FROM)\s+[`\"]?(\w+)", stmt, re.I)
        if m and (not tables or m.group(2) in tables):
            out.append((m.group(1).split()[0].upper(), m.group(2)))
    return out


def collapse(pairs):
    """Merge consecutive equal entries (insertmanyvalues may split one batch)."""
    out = []
    for p in pairs:
        if not out or out[-1] != p:
            out.append(p)
    return out


# -- one-to-many / many-to-one ----------------------------------------------------------
def test_one_to_many_inserts_parent_then_children_with_propagated_key(
        models, session, sql_log, read_rows):
    User, Address = models
    u = User(name="ed", addresses=[Address(email="a@x"), Address(email="b@x")])
    session.add(u)
    session.commit()
    assert collapse(shape(sql_log)) == [("INSERT", "users"), ("INSERT", "addresses")]
    uid = read_rows("SELECT id FROM users")[0][0]
    assert read_rows("SELECT email, user_id FROM addresses ORDER BY email") == [
        ("a@x", uid), ("b@x", uid)]


def test_many_to_one_assignment_inserts_target_first(models, session, read_rows, sql_log):
    User, Address = models
    a = Address(email="a@x")
    a.user = User(name="jack")
    session.add(a)
    session.commit()
    assert collapse(shape(sql_log)) == [("INSERT", "users"), ("INSERT", "addresses")]
    assert read_rows("SELECT a.email, u.name FROM addresses a JOIN users u ON u.id = a.user_id"
                     ) == [("a@x", "jack")]


def test_removing_child_from_collection_sets_foreign_key_null(models, session, read_rows,
                                                              sql_log):
    User, Address = models
    u = User(name="ed", addresses=[Address(email="a"), Address(email="b")])
    session.add(u)
    session.commit()
    sql_log.clear()
    a = u.addresses[0]
    u.addresses.remove(a)
    assert a.user is None  # the backref followed in memory
    session.commit()
    assert shape(sql_log) == [("UPDATE", "addresses")]
    assert read_rows("SELECT email, user_id FROM addresses ORDER BY email")[0] == ("a", None)


def test_deleting_parent_without_delete_cascade_nulls_children_first(
        models, session, read_rows, sql_log):
    User, Address = models
    u = User(name="ed", addresses=[Address(email="a"), Address(email="b")])
    session.add(u)
    session.commit()
    session.expire_all()
    sql_log.clear()
    session.delete(u)
    session.commit()
    assert collapse(shape(sql_log)) == [("UPDATE", "addresses"), ("DELETE", "users")]
    assert read_rows("SELECT email, user_id FROM addresses ORDER BY email") == [
        ("a", None), ("b", None)]


def test_delete_cascade_deletes_children_before_parent(Base, engine, session, sql_log,
                                                       read_rows):
    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        items = relationship("Item", cascade="all, delete-orphan", backref="order")

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        order_id = Column(Integer, ForeignKey("orders.id"), nullable=False)

    Base.metadata.create_all(engine)
    o = Order(items=[Item(), Item(), Item()])
    session.add(o)
    session.commit()
    sql_log.clear()
    o.items.pop()  # orphan: deleted, not nulled
    session.commit()
    assert shape(sql_log) == [("DELETE", "items")]
    assert len(read_rows(Item.__table__)) == 2
    sql_log.clear()
    session.delete(o)
    session.commit()
    assert collapse(shape(sql_log)) == [("DELETE", "items"), ("DELETE", "orders")]
    assert read_rows(Item.__table__) == [] and read_rows(Order.__table__) == []


def test_passive_deletes_leaves_unloaded_children_to_the_database(Base, engine, session,
                                                                  sql_log):
    class P(Base):
        __tablename__ = "p"
        id = Column(Integer, primary_key=True)
        kids = relationship("K", passive_deletes=True)

    class K(Base):
        __tablename__ = "k"
        id = Column(Integer, primary_key=True)
        p_id = Column(Integer, ForeignKey("p.id", ondelete="CASCADE"))

    Base.metadata.create_all(engine)
    p = P(kids=[K(), K()])
    session.add(p)
    session.commit()
    sql_log.clear()
    session.delete(p)
    session.commit()
    # the children are not loaded (the parent's own expired columns are: a deleted
    # object keeps its values, see tests/session/test_deleted_objects_keep_values.py)
    selects = [s for s in sql_log.statements if s.lstrip().upper().startswith("SELECT")]
    assert [st.split("FROM")[1].split()[0] for st in selects] == ["p"]
    assert shape(sql_log) == [("DELETE", "p")]


def test_moving_child_between_parents_updates_its_foreign_key(models, session, read_rows):
    User, Address = models
    u1 = User(name="u1", addresses=[Address(email="a")])
    u2 = User(name="u2")
    session.add_all([u1, u2])
    session.commit()
    a = u1.addresses[0]
    u2.addresses.append(a)
    assert a.user is u2 and u1.addresses == []
    session.commit()
    assert read_rows("SELECT u.name FROM addresses a JOIN users u ON u.id = a.user_id") == [
        ("u2",)]


def test_changing_parent_primary_key_updates_loaded_children(Base, engine, session,
                                                             read_rows):
    class P(Base):
        __tablename__ = "p"
        id = Column(Integer, primary_key=True, autoincrement=False)
        kids = relationship("K")

    class K(Base):
        __tablename__ = "k"
        id = Column(Integer, primary_key=True)
        p_id = Column(Integer, ForeignKey("p.id", onupdate="CASCADE"))

    Base.metadata.create_all(engine)
    p = P(id=1, kids=[K(), K()])
    session.add(p)
    session.commit()
    assert len(p.kids) == 2
    p.id = 50
    session.commit()
    assert [k.p_id for k in p.kids] == [50, 50]
    assert read_rows("SELECT p_id FROM k") == [(50,), (50,)]


# -- many-to-many -----------------------------------------------------------------------
@pytest.fixture
def m2m(Base, engine):
    post_tags = Table("post_tags", Base.metadata,
                 Column("post_id", ForeignKey("posts.id"), primary_key=True),
                 Column("tag_id", ForeignKey("tags.id"), primary_key=True))

    class Post(Base):
        __tablename__ = "posts"
        id = Column(Integer, primary_key=True)
        title = Column(String(20))
        tags = relationship("Tag", secondary=post_tags, backref="posts")

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    return Post, Tag


def test_many_to_many_rows_inserted_after_both_ends(m2m, session, sql_log, read_rows):
    Post, Tag = m2m
    t1, t2 = Tag(name="a"), Tag(name="b")
    p = Post(title="p", tags=[t1, t2])
    assert t1.posts == [p]  # backref
    session.add(p)
    session.commit()
    assert collapse(shape(sql_log)) == [("INSERT", "posts"), ("INSERT", "tags"),
                                        ("INSERT", "post_tags")]
    assert len([s for s in shape(sql_log) if s[1] == "post_tags"]) == 1  # one executemany
    assert read_rows("SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id "
                     "ORDER BY t.name") == [("a",), ("b",)]


def test_many_to_many_rows_deleted_before_either_end(m2m, session, sql_log, read_rows):
    Post, Tag = m2m
    t = Tag(name="a")
    p = Post(title="p", tags=[t, Tag(name="b")])
    session.add(p)
    session.commit()
    sql_log.clear()
    p.tags.remove(t)
    session.commit()
    assert shape(sql_log) == [("DELETE", "post_tags")]
    assert len(read_rows("SELECT * FROM post_tags")) == 1
    sql_log.clear()
    session.delete(p)
    session.delete(t)
    session.commit()
    assert collapse(shape(sql_log)) == [("DELETE", "post_tags"), ("DELETE", "posts"),
                                        ("DELETE", "tags")]
    assert read_rows("SELECT * FROM post_tags") == []


def test_many_to_many_backref_side_changes_write_one_row(m2m, session, read_rows):
    Post, Tag = m2m
    p, t = Post(title="p"), Tag(name="x")
    session.add_all([p, t])
    session.commit()
    t.posts.append(p)  # through the backref side
    assert p.tags == [t]
    session.commit()
    assert len(read_rows("SELECT * FROM post_tags")) == 1


# -- self-referential ---------------------------------------------------------------------
@pytest.fixture
def Node(Base, engine):
    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        parent_id = Column(Integer, ForeignKey("nodes.id"))
        # a self-referential backref names its remote side (as in SQLAlchemy)
        children = relationship("Node", backref=backref("parent", remote_side=[id]),
                                order_by="Node.id")

    Base.metadata.create_all(engine)
    return Node


def build_tree(Node, depth, fan, name="n"):
    node = Node(name=name)
    if depth:
        node.children = [build_tree(Node, depth - 1, fan, f"{name}.{i}") for i in range(fan)]
    return node


def test_self_referential_tree_inserts_level_by_level(Node, session, sql_log, read_rows):
    root = build_tree(Node, 3, 2)
    session.add(root)
    session.commit()
    inserts = [s for s in sql_log.statements if s.lstrip().upper().startswith("INSERT")]
    assert 4 <= len(inserts) <= 8  # one batch per level, not one statement per row
    rows = read_rows("SELECT id, name, parent_id FROM nodes")
    by_id = {r[0]: r for r in rows}
    assert len(rows) == 15
    for _id, name, parent_id in rows:
        if name == "n":
            assert parent_id is None
        else:
            assert by_id[parent_id][1] == name.rsplit(".", 1)[0]
            assert parent_id < _id  # parents were inserted first


def test_self_referential_delete_removes_children_first(Base, engine, session, read_rows):
    class Cat(Base):
        __tablename__ = "cats"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("cats.id"))
        children = relationship("Cat", cascade="all",
                                backref=backref("parent", remote_side=[id]))

    Base.metadata.create_all(engine)
    root = Cat(children=[Cat(children=[Cat(), Cat()]), Cat()])
    session.add(root)
    session.commit()
    session.expire_all()
    session.delete(root)
    session.commit()
    assert read_rows("SELECT * FROM cats") == []


def test_many_to_one_self_reference_with_remote_side(Base, engine, session, read_rows):
    class Emp(Base):
        __tablename__ = "emps"
        id = Column(Integer, primary_key=True)
        name = Column(String(10))
        boss_id = Column(Integer, ForeignKey("emps.id"))
        boss = relationship("Emp", remote_side=[id], backref="reports")

    Base.metadata.create_all(engine)
    big = Emp(name="big")
    e1 = Emp(name="e1", boss=big)
    assert big.reports == [e1]
    session.add(e1)
    session.commit()
    assert read_rows("SELECT e.name, b.name FROM emps e JOIN emps b ON b.id = e.boss_id"
                     ) == [("e1", "big")]


def test_row_referring_to_itself_is_written_with_a_post_update(Node, session, read_rows,
                                                               sql_log):
    n = Node(name="self")
    n.parent = n
    session.add(n)
    session.commit()
    assert shape(sql_log) == [("INSERT", "nodes"), ("UPDATE", "nodes")]
    (nid, pid), = read_rows("SELECT id, parent_id FROM nodes")
    assert nid == pid


# -- mutual references ------------------------------------------------------------------------
@pytest.fixture
def mutual(Base, engine):
    class Widget(Base):
        __tablename__ = "widgets"
        id = Column(Integer, primary_key=True)
        favorite_id = Column(Integer, ForeignKey("entries.id", use_alter=True,
                                                 name="fk_widget_fav"))
        entries = relationship("Entry", primaryjoin="Widget.id == Entry.widget_id",
                               foreign_keys="Entry.widget_id")
        favorite = relationship("Entry", primaryjoin="Widget.favorite_id == Entry.id",
                                foreign_keys=[favorite_id])

    class Entry(Base):
        __tablename__ = "entries"
        id = Column(Integer, primary_key=True)
        widget_id = Column(Integer, ForeignKey("widgets.id"), nullable=False)

    Base.metadata.create_all(engine)
    return Widget, Entry


def test_mutual_pair_breaks_cycle_with_null_then_update(mutual, session, sql_log,
                                                        read_rows):
    Widget, Entry = mutual
    w = Widget()
    e = Entry()
    w.entries.append(e)
    w.favorite = e
    session.add(w)
    session.commit()
    assert shape(sql_log) == [("INSERT", "widgets"), ("INSERT", "entries"),
                              ("UPDATE", "widgets")]
    (wid, fav), = read_rows("SELECT id, favorite_id FROM widgets")
    assert read_rows("SELECT id, widget_id FROM entries") == [(fav, wid)]


def test_post_update_true_forces_the_update(Base, engine, session, sql_log, read_rows):
    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        b_id = Column(Integer, ForeignKey("b.id", use_alter=True, name="fk_a_b"))
        b = relationship("B", foreign_keys=[b_id], post_update=True)

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)

    Base.metadata.create_all(engine)
    session.add(A(b=B()))
    session.commit()
    assert shape(sql_log) == [("INSERT", "a"), ("INSERT", "b"), ("UPDATE", "a")]
    assert read_rows("SELECT b_id FROM a") == [(read_rows("SELECT id FROM b")[0][0],)]


def test_unbreakable_cycle_raises_and_leaves_session_unchanged(Base, engine, session,
                                                               sql_log):
    class X(Base):
        __tablename__ = "x"
        id = Column(Integer, primary_key=True)
        y_id = Column(Integer, ForeignKey("y.id", use_alter=True, name="fk_x_y"),
                      nullable=False)
        y = relationship("Y", foreign_keys=[y_id])

    class Y(Base):
        __tablename__ = "y"
        id = Column(Integer, primary_key=True)
        x_id = Column(Integer, ForeignKey("x.id"), nullable=False)
        x = relationship("X", foreign_keys=[x_id])

    Base.metadata.create_all(engine)
    x, y = X(), Y()
    x.y = y
    y.x = x
    session.add(x)
    with pytest.raises(exc.CircularDependencyError) as info:
        session.flush()
    msg = str(info.value)
    assert "X" in msg and "Y" in msg and "nullable" in msg
    assert not any(s.lstrip().upper().startswith("INSERT") for s in sql_log.statements)
    assert x in session.new and y in session.new


# -- foreign keys without relationships --------------------------------------------------------
def test_foreign_key_without_relationship_orders_the_flush(Base, engine, session, sql_log):
    class Zoo(Base):
        __tablename__ = "zoo"
        id = Column(Integer, primary_key=True, autoincrement=False)

    class Animal(Base):  # declared before being referenced, and no relationship
        __tablename__ = "animal"
        id = Column(Integer, primary_key=True, autoincrement=False)
        zoo_id = Column(Integer, ForeignKey("zoo.id"))

    Base.metadata.create_all(engine)
    session.add(Animal(id=1, zoo_id=7))
    session.add(Zoo(id=7))
    session.commit()
    assert shape(sql_log) == [("INSERT", "zoo"), ("INSERT", "animal")]
    zoo, animal = session.get(Zoo, 7), session.get(Animal, 1)
    sql_log.clear()
    session.delete(zoo)
    session.delete(animal)
    session.commit()
    assert shape(sql_log) == [("DELETE", "animal"), ("DELETE", "zoo")]


def test_self_referencing_foreign_key_without_relationship_orders_rows(Base, engine,
                                                                       session, read_rows):
    class Part(Base):
        __tablename__ = "parts"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("parts.id"))

    Base.metadata.create_all(engine)
    session.add_all([Part(id=3, parent_id=2), Part(id=2, parent_id=1), Part(id=1)])
    session.commit()
    assert len(read_rows("SELECT * FROM parts")) == 3
    for part in [session.get(Part, pid) for pid in (1, 2, 3)]:
        session.delete(part)
    session.commit()
    assert read_rows("SELECT * FROM parts") == []


# -- determinism, batching, plan ---------------------------------------------------------------
def run_graph(Node, models, make_session, sql_log, seed):
    User, Address = models
    users = [User(name=f"u{i}", addresses=[Address(email=f"{i}-{j}") for j in range(3)])
             for i in range(5)]
    trees = [build_tree(Node, 2, 2, f"t{i}") for i in range(3)]
    objs = users + trees
    random.Random(seed).shuffle(objs)
    s = make_session()
    sql_log.clear()
    s.add_all(sorted(objs, key=lambda o: (type(o).__name__, getattr(o, "name", ""))))
    s.flush()
    out = shape(sql_log)
    s.rollback()
    return out


def test_same_contents_give_same_statement_order_whatever_insertion_order(
        Node, models, make_session, sql_log):
    first = run_graph(Node, models, make_session, sql_log, 1)
    for seed in range(2, 6):
        assert run_graph(Node, models, make_session, sql_log, seed) == first


def test_shuffled_adds_flush_in_dependency_order(models, make_session, sql_log):
    User, Address = models
    for seed in range(4):
        s = make_session()
        objs = []
        for i in range(4):
            u = User(name=f"u{i}")
            objs.append(u)
            objs.extend(Address(email=f"{i}{j}", user=u) for j in range(2))
        random.Random(seed).shuffle(objs)
        sql_log.clear()
        s.add_all(objs)
        s.flush()
        assert collapse(shape(sql_log)) == [("INSERT", "users"), ("INSERT", "addresses")]
        s.rollback()


@pytest.mark.slow
def test_ten_thousand_parents_with_ten_children_insert_in_batches(Base, engine, session,
                                                                  sql_log, read_rows):
    class Parent(Base):
        __tablename__ = "parent"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        children = relationship("Child")

    class Child(Base):
        __tablename__ = "child"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("parent.id"), nullable=False)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    session.add_all(Parent(name=f"p{i}", children=[Child(name=f"c{j}") for j in range(10)])
                    for i in range(10_000))
    session.commit()
    verbs = shape(sql_log)
    assert collapse(verbs) == [("INSERT", "parent"), ("INSERT", "child")]
    # one executemany per table (Core may split it into insertmanyvalues batches)
    assert len(verbs) < 300
    assert read_rows("SELECT COUNT(*) FROM child")[0][0] == 100_000
    assert read_rows("SELECT COUNT(DISTINCT parent_id) FROM child")[0][0] == 10_000


def test_flush_plan_prints_as_tree_and_is_logged(models, make_session, caplog, capsys):
    User, Address = models
    s = make_session(echo_uow=True)
    s.add(User(name="ed", addresses=[Address(email="a")]))
    with caplog.at_level(logging.INFO, logger="datamapper.unitofwork"):
        s.flush()
    printed = capsys.readouterr().out
    assert "FlushPlan" in printed
    lines = printed.splitlines()
    users_line = next(i for i, ln in enumerate(lines) if "SaveAction(User)" in ln)
    addr_line = next(i for i, ln in enumerate(lines) if "SaveAction(Address)" in ln)
    assert users_line < addr_line
    assert "users rows are saved first" in printed
    assert any("SaveAction(Address)" in r.getMessage() for r in caplog.records)


def test_self_referential_many_to_many_with_primary_and_secondary_join(Base, engine,
                                                                       session, read_rows):
    friendship = Table("friendship", Base.metadata,
                       Column("a_id", ForeignKey("people.id"), primary_key=True),
                       Column("b_id", ForeignKey("people.id"), primary_key=True))

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column(String(10))
        friends = relationship("Person", secondary=friendship,
                               primaryjoin=lambda: Person.id == friendship.c.a_id,
                               secondaryjoin=lambda: Person.id == friendship.c.b_id,
                               backref="friend_of")

    Base.metadata.create_all(engine)
    ann, bob, cy = Person(name="ann"), Person(name="bob"), Person(name="cy")
    ann.friends = [bob, cy]
    assert bob.friend_of == [ann]
    session.add(ann)
    session.commit()
    assert read_rows("SELECT p1.name, p2.name FROM friendship f JOIN people p1 ON "
                     "p1.id = f.a_id JOIN people p2 ON p2.id = f.b_id ORDER BY p2.name") == [
        ("ann", "bob"), ("ann", "cy")]
    session.expire_all()
    assert [p.name for p in bob.friend_of] == ["ann"]
    assert sorted(p.name for p in ann.friends) == ["bob", "cy"]
