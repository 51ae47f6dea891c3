"""One joinedload() of a collection loads parents and children in one pass over the
rows (loading.strategies.load_joined_collection); every case it hands back to the
general loaders, and every case it handles, gives what the general path gives."""

import pytest
import sqlalchemy as sa

from datamapper import event, inspect, joinedload, relationship
from datamapper.loading import rows as rows_mod
from datamapper.loading import strategies


@pytest.fixture(params=["one pass", "general"])
def mode(request, monkeypatch):
    """Each test runs with the one-pass loader and with the general loaders alone."""
    if request.param == "general":
        monkeypatch.setattr(rows_mod, "_FAST_LOOPS", False)
    return request.param


@pytest.fixture
def tree(Base, engine):
    class Child(Base):
        __tablename__ = "jc_child"
        id = sa.Column(sa.Integer, primary_key=True)
        parent_id = sa.Column(sa.Integer, sa.ForeignKey("jc_parent.id"))
        name = sa.Column(sa.String(20))

    class Parent(Base):
        __tablename__ = "jc_parent"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(20))
        children = relationship(Child)

    Base.metadata.create_all(engine)
    return Parent, Child


def _seed(make_session, Parent, Child):
    s = make_session()
    s.add_all([
        Parent(id=1, name="p1", children=[Child(id=11, name="a"), Child(id=12, name="b")]),
        Parent(id=2, name="p2"),
        Parent(id=3, name="p3", children=[Child(id=31, name="c")]),
    ])
    s.commit()
    s.close()


def _shape(parents):
    return [(p.id, p.name, sorted(c.name for c in p.children)) for p in parents]


SEEDED = [(1, "p1", ["a", "b"]), (2, "p2", []), (3, "p3", ["c"])]


def test_fresh_load_gives_each_parent_its_children_in_one_statement(
        tree, make_session, sql_log, mode):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    s = make_session()
    sql_log.clear()
    parents = s.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
    assert _shape(parents) == SEEDED
    assert sql_log.count == 1
    # the collections are the ORM's: changes to them are flushed
    p2 = parents[1]
    p2.children.append(Child(id=21, name="new"))
    s.commit()
    assert sql_log.count > 1
    with s.bind.connect() as conn:
        assert conn.execute(sa.text("SELECT parent_id FROM jc_child WHERE id = 21")).scalar() == 2
    assert inspect(parents[0]).persistent and not inspect(parents[0]).modified


def test_select_statement_and_query_load_alike(tree, make_session, mode):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    s = make_session()
    parents = s.scalars(sa.select(Parent).options(joinedload(Parent.children))
                        .order_by(Parent.id)).unique().all()
    assert _shape(parents) == SEEDED


def test_interleaved_parent_rows_merge_into_one_collection_each(
        tree, make_session, sql_log, mode):
    Parent, Child = tree
    s = make_session()
    s.add_all([Parent(id=1, name="p1"), Parent(id=2, name="p2")])
    s.flush()
    # child names alternate between the parents: ordered by name the rows go 1, 2, 1, 2
    s.add_all([Child(id=i, parent_id=1 + i % 2, name=f"n{i}") for i in range(1, 5)])
    s.commit()
    s.close()
    s = make_session()
    sql_log.clear()
    parents = (s.query(Parent).outerjoin(Parent.children).options(joinedload(Parent.children))
               .order_by(Child.name).all())
    assert sorted(p.id for p in parents) == [1, 2]
    assert {p.id: sorted(c.id for c in p.children) for p in parents} == {1: [2, 4], 2: [1, 3]}
    assert sql_log.count == 1


def test_objects_already_in_the_session_keep_their_loaded_state(
        tree, make_session, sql_log, mode):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    s = make_session()
    c11 = s.get(Child, 11)
    p1 = s.get(Parent, 1)
    p1.name = "changed"  # unflushed: the load keeps it
    p3 = s.query(Parent).options(joinedload(Parent.children)).filter(Parent.id == 3).one()
    mine = Child(id=32, name="mine")
    p3.children.append(mine)  # loaded collection with an unflushed append
    s.expire(s.get(Parent, 2), ["name"])
    sql_log.clear()
    with s.no_autoflush:
        parents = s.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
    assert sql_log.count == 1
    assert parents[0] is p1 and p1.name == "changed"
    assert sorted(c.name for c in p1.children) == ["a", "b"] and c11 in p1.children
    assert parents[1].name == "p2"  # the expired attribute came from the row
    assert p3.children[-1] is mine  # not overwritten: its change is still to flush
    s.commit()
    with s.bind.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM jc_parent WHERE id = 1")).scalar() == \
            "changed"
        assert conn.execute(sa.text("SELECT parent_id FROM jc_child WHERE id = 32")).scalar() == 3


def test_populate_existing_overwrites_loaded_collections_and_columns(
        tree, make_session, mode):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    s = make_session()
    p1 = s.query(Parent).options(joinedload(Parent.children)).filter(Parent.id == 1).one()
    with s.bind.begin() as conn:
        conn.execute(sa.text("UPDATE jc_parent SET name = 'outside' WHERE id = 1"))
        conn.execute(sa.text("DELETE FROM jc_child WHERE id = 12"))
    s.rollback()  # (a new transaction sees the outside changes)
    s.expunge_all()
    p1 = s.query(Parent).options(joinedload(Parent.children)).filter(Parent.id == 1).one()
    stale = list(p1.children)
    with s.bind.begin() as conn:
        conn.execute(sa.text("INSERT INTO jc_child (id, parent_id, name) VALUES (13, 1, 'z')"))
        conn.execute(sa.text("UPDATE jc_child SET name = 'A' WHERE id = 11"))
    s.rollback()
    again = (s.query(Parent).options(joinedload(Parent.children)).populate_existing()
             .filter(Parent.id == 1).one())
    assert again is p1 and p1.name == "outside"
    assert sorted(c.name for c in p1.children) == ["A", "z"]
    assert stale[0] in p1.children  # the same child object, overwritten


def test_parents_without_children_get_empty_collections_without_a_lazy_load(
        tree, make_session, sql_log, mode):
    Parent, Child = tree
    s = make_session()
    s.add_all([Parent(id=i, name=f"p{i}") for i in range(1, 4)])
    s.commit()
    s.close()
    s = make_session()
    sql_log.clear()
    parents = s.query(Parent).options(joinedload(Parent.children)).all()
    assert [p.children for p in parents] == [[], [], []]
    assert sql_log.count == 1


def test_strong_identity_map_and_load_listeners_go_the_general_way(
        tree, make_session, monkeypatch):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    calls = []
    real = strategies._populate_joined
    monkeypatch.setattr(strategies, "_populate_joined",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    s = make_session(weak_identity_map=False)
    parents = s.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
    assert _shape(parents) == SEEDED and calls == [1]
    loaded = []
    event.listen(Child, "load", lambda target, ctx: loaded.append(target.id))
    s2 = make_session()
    parents = s2.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
    assert _shape(parents) == SEEDED and calls == [1, 1]
    assert sorted(loaded) == [11, 12, 31]
    s3 = make_session()
    # without the listener's mapper in the load: one pass
    s3.query(Child).all()
    assert calls == [1, 1]


def test_one_pass_is_taken_for_a_plain_joined_collection(tree, make_session, monkeypatch):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    calls = []
    monkeypatch.setattr(strategies, "_populate_joined", lambda *a, **k: calls.append(1))
    s = make_session()
    parents = s.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
    assert _shape(parents) == SEEDED and calls == []


def test_refresh_reloads_with_the_plan_remembered_by_the_one_pass(
        tree, make_session, sql_log, mode):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    s = make_session()
    parents = s.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
    sql_log.clear()
    s.refresh(parents[0])
    assert sql_log.count == 1 and "JOIN" in sql_log.statements[0].upper()
    assert sorted(c.name for c in parents[0].children) == ["a", "b"]


def test_versioned_parents_and_self_referential_collections(Base, engine, make_session, mode):
    class Node(Base):
        __tablename__ = "jc_node"
        id = sa.Column(sa.Integer, primary_key=True)
        parent_id = sa.Column(sa.Integer, sa.ForeignKey("jc_node.id"))
        version = sa.Column(sa.Integer, nullable=False)
        kids = relationship("Node")
        __mapper_args__ = {"version_id_col": version}

    Base.metadata.create_all(engine)
    s = make_session()
    root = Node(id=1, kids=[Node(id=2, kids=[Node(id=4)]), Node(id=3)])
    s.add(root)
    s.commit()
    s.close()
    s = make_session()
    nodes = s.query(Node).options(joinedload(Node.kids)).order_by(Node.id).all()
    assert [(n.id, sorted(k.id for k in n.kids)) for n in nodes] == [
        (1, [2, 3]), (2, [4]), (3, []), (4, [])]
    assert nodes[1] in nodes[0].kids  # one object per row, whichever side it came in on
    nodes[1].kids.append(Node(id=5))
    nodes[0].kids[0].parent_id = 1
    s.commit()
    with s.bind.connect() as conn:
        assert conn.execute(sa.text("SELECT parent_id FROM jc_node WHERE id = 5")).scalar() == 2


def test_polymorphic_children_go_the_general_way(Base, engine, make_session, mode):
    class Item(Base):
        __tablename__ = "jc_item"
        id = sa.Column(sa.Integer, primary_key=True)
        owner_id = sa.Column(sa.Integer, sa.ForeignKey("jc_owner.id"))
        kind = sa.Column(sa.String(10))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "item"}

    class Book(Item):
        __mapper_args__ = {"polymorphic_identity": "book"}

    class Owner(Base):
        __tablename__ = "jc_owner"
        id = sa.Column(sa.Integer, primary_key=True)
        items = relationship(Item)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Owner(id=1, items=[Item(id=1), Book(id=2)]))
    s.commit()
    s.close()
    s = make_session()
    (owner,) = s.query(Owner).options(joinedload(Owner.items)).all()
    assert sorted((type(i).__name__, i.id) for i in owner.items) == [("Book", 2), ("Item", 1)]


def test_a_collection_from_the_one_pass_loads_again_after_expiry(
        tree, make_session, sql_log, mode):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    s = make_session()
    p1 = s.query(Parent).options(joinedload(Parent.children)).filter(Parent.id == 1).one()
    s.expire(p1)
    with s.bind.begin() as conn:
        conn.execute(sa.text("DELETE FROM jc_child WHERE id = 12"))
    s.rollback()
    sql_log.clear()
    assert [c.id for c in p1.children] == [11]
    assert sql_log.count >= 1


def test_generated_loops_kept_per_parent_loader_are_bounded(tree, make_session, monkeypatch):
    Parent, Child = tree
    _seed(make_session, Parent, Child)
    loader = rows_mod.entity_loader(inspect(Parent))
    s = make_session()
    s.query(Parent).options(joinedload(Parent.children)).all()
    assert len(loader.joined_loops) == 1
    loader.joined_loops.clear()
    monkeypatch.setattr(strategies, "_JOINED_LOOPS_KEPT", 0)
    for _ in range(2):
        s = make_session()
        parents = s.query(Parent).options(joinedload(Parent.children)).order_by(Parent.id).all()
        assert _shape(parents) == SEEDED
    assert loader.joined_loops == {}
