"""aliased(): a mapped class over an alias of its table or over a subquery, in
datamapper.select(), sqlalchemy.select() and Query; self-joins, relationship joins
from and to an alias, contains_eager(alias=), and objects through the identity map."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import (
    AliasedClass,
    Session,
    aliased,
    contains_eager,
    exc,
    relationship,
    select,
)


@pytest.fixture
def m(Base, engine):
    links = Table("node_links", Base.metadata,
                  Column("left_id", ForeignKey("nodes.id"), primary_key=True),
                  Column("right_id", ForeignKey("nodes.id"), primary_key=True))

    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("nodes.id"))
        name = Column("node_name", String(20))
        children = relationship("Node", order_by="Node.id")
        related = relationship("Node", secondary=links,
                               primaryjoin=lambda: Node.id == links.c.left_id,
                               secondaryjoin=lambda: Node.id == links.c.right_id,
                               order_by="Node.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        node_id = Column(Integer, ForeignKey("nodes.id"))
        email = Column(String(30))
        node = relationship(Node, backref="addresses")

    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(Node.__table__.insert(), [
            {"id": 1, "parent_id": None, "node_name": "root"},
            {"id": 2, "parent_id": 1, "node_name": "a"},
            {"id": 3, "parent_id": 1, "node_name": "b"},
            {"id": 4, "parent_id": 2, "node_name": "a1"},
        ])
        c.execute(links.insert(), [{"left_id": 1, "right_id": 4}, {"left_id": 2, "right_id": 3}])
        c.execute(Address.__table__.insert(), [
            {"id": 1, "node_id": 2, "email": "a@x"}, {"id": 2, "node_id": 2, "email": "a@y"},
            {"id": 3, "node_id": 3, "email": "b@x"}])

    class M:
        pass

    M.Node, M.Address = Node, Address
    return M


@pytest.fixture
def s(engine, m):
    session = Session(engine)
    yield session
    session.close()


def _names(objs):
    return [o.name for o in objs]


def test_self_join_loads_both_sides_through_identity_map(s, m):
    Parent = aliased(m.Node, name="parent")
    rows = s.execute(select(m.Node, Parent).join(Parent, m.Node.parent_id == Parent.id)
                     .order_by(m.Node.id)).all()
    assert [(c.name, p.name) for c, p in rows] == [("a", "root"), ("b", "root"), ("a1", "a")]
    root = s.get(m.Node, 1)
    assert rows[0][1] is root and rows[1][1] is root
    assert rows[2][1] is rows[0][0]  # node "a" as parent is the same object as "a"
    assert list(rows[0]._mapping) == ["Node", "parent"]


def test_alias_attributes_are_alias_columns(s, m, sql_log):
    A = aliased(m.Node)
    assert isinstance(A, AliasedClass) and sa.inspect(A).mapper is m.Node.__mapper__
    found = s.scalars(select(A).where(A.name == "b")).all()
    assert _names(found) == ["b"]
    stmt = sql_log.statements[-1]
    assert "nodes AS" in stmt and "node_name" in stmt
    assert s.execute(select(A.name).where(A.id == 2)).all() == [("a",)]
    assert list(s.execute(select(A.name)).keys()) == ["name"]


def test_core_select_of_alias_returns_objects(s, m):
    A = aliased(m.Node, name="n2")
    objs = s.scalars(sa.select(A).where(A.id.in_([2, 3])).order_by(A.id)).all()
    assert objs == [s.get(m.Node, 2), s.get(m.Node, 3)]
    assert _names(s.scalars(sa.select(A).filter_by(name="a1")).all()) == ["a1"]
    rows = s.execute(sa.select(m.Node, A).join(A, m.Node.id == A.parent_id)
                     .where(A.name == "a1")).all()
    assert [(n.name, a.name) for n, a in rows] == [("a", "a1")]


def test_query_of_alias_and_join_to_alias(s, m):
    A = aliased(m.Node)
    assert _names(s.query(A).filter(A.id > 2).order_by(A.id).all()) == ["b", "a1"]
    q = s.query(m.Node).join(A, m.Node.parent_id == A.id).filter(A.name == "root")
    assert _names(q.order_by(m.Node.id).all()) == ["a", "b"]
    pairs = s.query(m.Node, A).join(A, A.parent_id == m.Node.id).order_by(A.id).all()
    assert [(n.name, a.name) for n, a in pairs] == [("root", "a"), ("root", "b"), ("a", "a1")]


def test_relationship_of_type_alias(s, m):
    Child = aliased(m.Node)
    stmt = select(m.Node).join(m.Node.children.of_type(Child)).where(Child.name == "a1")
    assert _names(s.scalars(stmt).all()) == ["a"]
    q = s.query(m.Node).join(m.Node.children.of_type(Child)).filter(Child.name == "b")
    assert _names(q.all()) == ["root"]
    Target = aliased(m.Address)
    stmt = select(m.Node).join(m.Node.addresses.of_type(Target)).where(Target.email == "b@x")
    assert _names(s.scalars(stmt).all()) == ["b"]


def test_relationship_from_alias(s, m):
    A = aliased(m.Node)
    stmt = select(A).join(A.children).where(m.Node.name == "a1")
    assert _names(s.scalars(stmt).all()) == ["a"]
    stmt = select(A).join(A.addresses).where(m.Address.email == "a@y")
    assert _names(s.scalars(stmt).all()) == ["a"]


def test_many_to_many_self_referential_with_alias(s, m):
    Other = aliased(m.Node)
    stmt = (select(m.Node, Other).join(m.Node.related.of_type(Other))
            .order_by(m.Node.id))
    assert [(a.name, b.name) for a, b in s.execute(stmt).all()] == [("root", "a1"), ("a", "b")]


def test_alias_of_subquery(s, m):
    sub = select(m.Node).where(m.Node.parent_id == 1).subquery()
    A = aliased(m.Node, sub)
    assert _names(s.scalars(select(A).order_by(A.id)).all()) == ["a", "b"]
    B = aliased(m.Node, select(m.Node).where(m.Node.id == 4), name="only4")
    assert _names(s.query(B).all()) == ["a1"]
    assert s.scalars(select(A).where(A.id == 2)).one() is s.get(m.Node, 2)


def test_flat_and_realias_accepted(s, m):
    A = aliased(m.Node, flat=True)
    B = aliased(A)
    rows = s.execute(select(A, B).join(B, A.id == B.parent_id).where(B.id == 4)).all()
    assert [(a.name, b.name) for a, b in rows] == [("a", "a1")]


def test_contains_eager_from_alias(s, m, sql_log):
    Child = aliased(m.Node)
    stmt = (select(m.Node).join(m.Node.children.of_type(Child))
            .options(contains_eager(m.Node.children, alias=Child)).where(m.Node.id == 2))
    n = s.scalars(stmt).unique().one()
    count = len(sql_log.statements)
    assert _names(n.children) == ["a1"]
    assert len(sql_log.statements) == count
    s.expunge_all()
    stmt = (select(m.Node).join(m.Node.children.of_type(Child))
            .options(contains_eager(m.Node.children.of_type(Child))).where(m.Node.id == 1))
    root = s.scalars(stmt).unique().one()
    count = len(sql_log.statements)
    assert _names(root.children) == ["a", "b"]
    assert len(sql_log.statements) == count


def test_changes_to_objects_loaded_through_alias_flush(s, m, read_rows):
    A = aliased(m.Node)
    b = s.scalars(select(A).where(A.name == "b")).one()
    b.name = "b2"
    s.commit()
    assert read_rows("SELECT node_name FROM nodes WHERE id = 3") == [("b2",)]


def test_bad_arguments_are_named(m):
    with pytest.raises(exc.ArgumentError, match=r"aliased\(Node, 5\).*not int"):
        aliased(m.Node, 5)
    with pytest.raises(exc.ArgumentError, match="not a mapped class"):
        aliased(object)
    A = aliased(m.Node)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = A.nope


def test_filter_by_on_aliased_entity_uses_the_alias(s, m, sql_log):
    A = aliased(m.Node)
    assert _names(s.query(A).filter_by(name="b").all()) == ["b"]
    assert "FROM nodes AS nodes_1 \nWHERE nodes_1.node_name" in sql_log.statements[-1]
    assert _names(s.scalars(select(A).filter_by(name="a1")).all()) == ["a1"]
    with pytest.raises(exc.InvalidRequestError, match="no mapped attribute"):
        s.query(A).filter_by(nope=1)


def test_of_type_alias_any_and_has_name_the_alias(Base, engine, make_session):
    from sqlalchemy import Column, ForeignKey, Integer, String

    from datamapper import aliased, relationship

    class Owner(Base):
        __tablename__ = "ot_owners"
        id = Column(Integer, primary_key=True)
        pets = relationship("Pet", back_populates="owner")

    class Pet(Base):
        __tablename__ = "ot_pets"
        id = Column(Integer, primary_key=True)
        kind = Column(String(10))
        owner_id = Column(ForeignKey("ot_owners.id"))
        owner = relationship(Owner, back_populates="pets")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Owner(id=1, pets=[Pet(id=1, kind="cat")]),
               Owner(id=2, pets=[Pet(id=2, kind="dog")]), Owner(id=3)])
    s.commit()
    o1, p1 = aliased(Owner), aliased(Pet)
    crit = o1.pets.of_type(p1).any(p1.kind == "dog")
    sql = " ".join(str(s.query(o1).filter(crit)).split())
    assert "EXISTS (SELECT 1 FROM ot_pets AS ot_pets_1 WHERE ot_owners_1.id = " \
        "ot_pets_1.owner_id AND ot_pets_1.kind = :kind_1)" in sql
    assert [o.id for o in s.query(o1).filter(crit)] == [2]
    assert [o.id for o in s.query(Owner).filter(Owner.pets.of_type(p1).any(kind="cat"))] == [1]
    assert [p.id for p in s.query(Pet).filter(Pet.owner.of_type(o1).has(o1.id == 2))] == [2]
    s.close()


@pytest.mark.parametrize("loader", ["joinedload", "selectinload", "subqueryload"])
def test_eager_loader_options_on_an_alias_relationship(models, session, sql_log, loader):
    """select(ua).options(joinedload(ua.addresses)): an option given through the alias's
    own relationship attribute loads it, in the statements the loader always uses."""
    import datamapper

    User, Address = models
    session.add_all([User(id=1, name="a", addresses=[Address(id=1, email="x"),
                                                     Address(id=2, email="y")]),
                     User(id=2, name="b")])
    session.commit()
    session.close()
    ua = datamapper.aliased(User)
    option = getattr(datamapper, loader)
    sql_log.clear()
    found = session.scalars(select(ua).options(option(ua.addresses).joinedload(Address.user))
                            .order_by(ua.id)).unique().all()
    count = sql_log.count
    assert [[a.email for a in u.addresses] for u in found] == [["x", "y"], []]
    assert found[0].addresses[0].user is found[0]
    assert sql_log.count == count == (1 if loader == "joinedload" else 2)


@pytest.mark.parametrize("over", ["subquery", "table_alias"])
def test_order_by_and_group_by_names_read_the_aliased_entity(s, m, over):
    # (the name was resolved to the class's table column: ORDER BY nodes.id under
    # FROM (SELECT ...) AS anon_1, "no such column" / a cartesian product)
    Node = m.Node
    if over == "subquery":
        a = aliased(Node, s.query(Node).filter(Node.id > 1).subquery())
    else:
        a = aliased(Node)
    expected = ["a1", "b", "a"] + (["root"] if over == "table_alias" else [])
    assert _names(s.query(a).order_by("id desc")) == expected
    assert _names(s.query(a).order_by("-node_name")) == ["root", "b", "a1", "a"][
        (1 if over == "subquery" else 0):]
    got = s.query(a.parent_id, sa.func.count()).group_by("parent_id").order_by("parent_id")
    assert set(got.all()) == ({(1, 2), (2, 1)} if over == "subquery" else
                              {(None, 1), (1, 2), (2, 1)})
