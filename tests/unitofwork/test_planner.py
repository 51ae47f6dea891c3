"""The flush planner and the plan it prints, with no database: which actions a
change set becomes, in which order, and why (unitofwork.dependency, .planner,
.plan)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.exc import CircularDependencyError

from datamapper import (
    Session,
    backref,
    configure_mappers,
    declarative_base,
    inspect,
    make_transient_to_detached,
    relationship,
)
from datamapper.unitofwork.flush import UOWTransaction
from datamapper.unitofwork.plan import Action, FlushPlan


@pytest.fixture
def Base():
    return declarative_base(metadata=MetaData())


@pytest.fixture
def session():
    s = Session(autoflush=False)
    yield s
    s.close()


@pytest.fixture
def user_address(Base):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        addresses = relationship("Address", backref="user")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))
        email = Column(String(50))

    configure_mappers()
    return User, Address


def persistent(session, *objs):
    """Put ``objs`` into ``session`` as if loaded from their rows (no SQL)."""
    for obj in objs:
        make_transient_to_detached(obj)
    session.add_all(objs)
    return objs


def build(session):
    """The plan a flush of ``session`` would run now, and its UOWTransaction."""
    uow = UOWTransaction(session, [inspect(o) for o in session.new],
                         [inspect(o) for o in session.dirty],
                         [inspect(o) for o in session.deleted])
    return uow.build_plan(), uow


def labels(plan):
    return [a.label() for a in plan]


# -- one-to-many / many-to-one ------------------------------------------------------------
def test_parents_are_saved_before_children_whatever_the_add_order(session, user_address):
    User, Address = user_address
    a1, a2 = Address(email="a"), Address(email="b")
    session.add_all([a1, a2])
    session.add(User(name="u", addresses=[a1, a2]))
    plan, uow = build(session)
    assert labels(plan) == ["SaveAction(User) on users: insert 1",
                            "SaveAction(Address) on addresses: insert 2"]
    assert plan.actions[1].reason == \
        "addresses.user refers to users: users rows are saved first"
    assert [a.states for a in plan][1] == [inspect(a1), inspect(a2)]
    # each address is linked to the user: its key is copied before its INSERT
    links = uow.deps.links
    assert {s.obj().email for s in links} == {"a", "b"}
    assert all(lk.src is inspect(a1.user) and lk.dest_keys == ("user_id",)
               for per in links.values() for lk in per.values())


def test_children_are_deleted_before_parents(session, user_address):
    User, Address = user_address
    a = Address(id=1, email="a", user_id=1)
    u = User(id=1, name="u", addresses=[a])  # (loaded: the flush reads it)
    persistent(session, u, a)
    session.delete(a)
    session.delete(u)
    plan, _uow = build(session)
    assert labels(plan) == ["DeleteAction(Address) on addresses: 1 row(s)",
                            "DeleteAction(User) on users: 1 row(s)"]
    assert plan.actions[1].reason == \
        "addresses.user rows referring to users are deleted first"


def test_a_child_removed_from_a_collection_is_updated_to_no_parent(session, user_address):
    User, Address = user_address
    a = Address(id=1, email="a", user_id=1)
    u = User(id=1, name="u", addresses=[a])
    persistent(session, u, a)
    u.addresses.remove(a)
    plan, uow = build(session)
    # (the user changed a relationship only: its save writes no row)
    assert labels(plan) == ["SaveAction(User) on users: update 1",
                            "SaveAction(Address) on addresses: update 1"]
    (link,) = uow.deps.links[inspect(a)].values()
    assert link.src is None and link.values() == (None,)


def test_a_parent_deleted_without_cascade_clears_its_childrens_keys_first(
        session, user_address):
    User, Address = user_address
    a = Address(id=1, email="a", user_id=1)
    u = User(id=1, name="u", addresses=[a])
    persistent(session, u, a)
    session.delete(u)
    plan, _uow = build(session)
    assert labels(plan) == ["SaveAction(Address) on addresses: update 1",
                            "DeleteAction(User) on users: 1 row(s)"]


def test_delete_orphan_deletes_the_removed_child(session, Base):
    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        children = relationship("Child", cascade="all, delete-orphan")

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("parents.id"))

    configure_mappers()
    c1, c2 = Child(id=1, parent_id=1), Child(id=2, parent_id=1)
    p = Parent(id=1, children=[c1, c2])
    persistent(session, p, c1, c2)
    p.children.remove(c2)
    plan, _uow = build(session)
    assert labels(plan) == ["SaveAction(Parent) on parents: update 1",
                            "DeleteAction(Child) on children: 1 row(s)"]
    assert plan.actions[1].states == [inspect(c2)]


def test_a_table_foreign_key_without_relationship_orders_rows_too(session, Base):
    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)

    class Log(Base):
        __tablename__ = "logs"
        id = Column(Integer, primary_key=True)
        owner_id = Column(ForeignKey("owners.id"))

    configure_mappers()
    session.add_all([Log(id=1, owner_id=1), Owner(id=1)])
    plan, _uow = build(session)
    assert labels(plan) == ["SaveAction(Owner) on owners: insert 1",
                            "SaveAction(Log) on logs: insert 1"]
    assert plan.actions[1].reason == "logs.owner_id refers to owners: owners rows are saved first"


# -- many-to-many ----------------------------------------------------------------------------
@pytest.fixture
def article_keyword(Base):
    assoc = Table("article_keywords", Base.metadata,
                  Column("article_id", ForeignKey("articles.id"), primary_key=True),
                  Column("keyword_id", ForeignKey("keywords.id"), primary_key=True))

    class Article(Base):
        __tablename__ = "articles"
        id = Column(Integer, primary_key=True)
        keywords = relationship("Keyword", secondary=assoc)

    class Keyword(Base):
        __tablename__ = "keywords"
        id = Column(Integer, primary_key=True)
        word = Column(String(20))

    configure_mappers()
    return Article, Keyword


def test_association_rows_are_inserted_after_both_ends(session, article_keyword):
    Article, Keyword = article_keyword
    k1, k2 = Keyword(id=1, word="x"), Keyword(id=2, word="y")
    art = Article(id=1, keywords=[k1, k2])
    session.add(art)
    plan, uow = build(session)
    assert labels(plan) == ["SaveAction(Article) on articles: insert 1",
                            "SaveAction(Keyword) on keywords: insert 2",
                            "AssociateAction on article_keywords: 2 row(s)"]
    assert sorted(r.params()["keyword_id"] for r in plan.actions[2].payload) == [1, 2]
    assert all(r.params()["article_id"] == 1 for r in plan.actions[2].payload)


def test_association_rows_are_deleted_before_their_ends(session, article_keyword):
    Article, Keyword = article_keyword
    k1, k2 = Keyword(id=1, word="x"), Keyword(id=2, word="y")
    art = Article(id=1, keywords=[k1, k2])
    persistent(session, art, k1, k2)
    art.keywords.remove(k1)
    session.delete(k2)
    plan, _uow = build(session)
    assert labels(plan) == ["SaveAction(Article) on articles: update 1",
                            "DissociateAction on article_keywords: 1 row(s)",
                            "DeleteAction(Keyword) on keywords: 1 row(s)"]
    assert plan.actions[1].payload[0].params() == {"article_id": 1, "keyword_id": 1}
    assert plan.actions[1].reason == "rows removed before either end is deleted"


def test_a_row_added_and_removed_in_one_flush_writes_nothing(session, article_keyword):
    Article, Keyword = article_keyword
    k1 = Keyword(id=1, word="x")
    art = Article(id=1, keywords=[])
    persistent(session, art, k1)
    art.keywords.append(k1)
    art.keywords.remove(k1)
    plan, uow = build(session)
    assert not uow.deps.assoc_insert and not uow.deps.assoc_delete
    assert labels(plan) == ["SaveAction(Article) on articles: update 1"]


# -- cycles -----------------------------------------------------------------------------
def test_self_referential_rows_are_saved_in_per_row_steps(session, Base):
    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("nodes.id"))
        children = relationship("Node", backref=backref("parent", remote_side=[id]))

    configure_mappers()
    leaf = Node(id=3)
    mid = Node(id=2, children=[leaf])
    root = Node(id=1, children=[mid])
    session.add_all([leaf, mid, root])
    plan, _uow = build(session)
    assert labels(plan) == ["SaveAction(Node) on nodes: insert 1"] * 3
    assert [a.states for a in plan] == [[inspect(root)], [inspect(mid)], [inspect(leaf)]]
    assert plan.actions[0].reason.startswith("per-row step 1 of the cycle between Node")
    assert plan.cycles == [["save Node"]]


@pytest.fixture
def mutual(Base):
    """A row of each table refers to a row of the other; only A's key is nullable."""

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        b_id = Column(ForeignKey("b.id", use_alter=True), nullable=True)
        b = relationship("B", foreign_keys=[b_id])

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("a.id"), nullable=False)
        a = relationship("A", foreign_keys=[a_id])

    configure_mappers()
    return A, B


def test_a_row_cycle_is_broken_through_the_nullable_key(session, mutual):
    A, B = mutual
    a, b = A(id=1), B(id=1)
    a.b = b
    b.a = a
    session.add_all([a, b])
    plan, uow = build(session)
    assert labels(plan) == ["SaveAction(A) on a: insert 1",
                            "SaveAction(B) on b: insert 1",
                            "PostUpdateAction(A) on a: 1 row(s)"]
    (link,) = plan.actions[2].payload
    assert link.dest is inspect(a) and link.src is inspect(b) and link.post
    assert sorted(map(sorted, [plan.cycles[0]])) == [["save A", "save B"]]


def test_a_not_null_row_cycle_is_refused_with_the_path(session, mutual):
    A, B = mutual
    a, b = A(id=1), B(id=1)
    a.b = b
    b.a = a
    A.__table__.c.b_id.nullable = False
    try:
        session.add_all([a, b])
        with pytest.raises(CircularDependencyError,
                           match=r"Can't flush: the rows of .* depend on each other through "
                                 r"NOT NULL foreign keys"):
            build(session)
    finally:
        A.__table__.c.b_id.nullable = True


# -- determinism ----------------------------------------------------------------------------
def test_updates_are_ordered_by_key_not_by_change_order(session, user_address):
    User, _Address = user_address
    users = [User(id=i, name="n") for i in range(1, 9)]
    persistent(session, *users)
    for u in random.Random(4).sample(users, len(users)):
        u.name = "changed"
    plan, _uow = build(session)
    (action,) = plan.actions
    assert [s.obj().id for s in action.updates] == list(range(1, 9))


# -- the printed plan ---------------------------------------------------------------------------
def test_plan_prints_as_a_numbered_tree(session, user_address):
    User, Address = user_address
    u = User(name="u", addresses=[Address(email="a")])
    session.add(u)
    plan, _uow = build(session)
    lines = str(plan).splitlines()
    assert lines[0] == "FlushPlan"
    assert lines[1] == "  1. SaveAction(User) on users: insert 1"
    assert lines[2] == "      because: no dependency"
    assert lines[3].startswith("      - ") and "User" in lines[3]
    assert lines[4] == "  2. SaveAction(Address) on addresses: insert 1"
    assert repr(plan) == "<FlushPlan of 2 actions>"
    assert len(plan) == 2


def test_an_empty_plan_says_so():
    assert str(FlushPlan()) == "FlushPlan\n  (nothing to flush)"


def test_long_row_lists_are_cut_short(user_address):
    User, _Address = user_address
    users = [User(id=i) for i in range(7)]
    action = Action("delete", inspect(User), [inspect(u) for u in users])
    rows = action.describe_rows()
    assert len(rows) == 6 and rows[-1] == "... 2 more"
    assert action.label() == "DeleteAction(User) on users: 7 row(s)"
    child = Action("delete", inspect(User), [inspect(users[0])])
    action.children.append(child)
    text = str(FlushPlan([action], [["delete User"]]))
    assert "\n      1.1. DeleteAction(User) on users: 1 row(s)" in text
    assert text.endswith("  cycle broken per row: delete User")
