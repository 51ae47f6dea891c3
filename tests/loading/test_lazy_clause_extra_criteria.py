"""Relationships whose join condition has criteria besides the key columns: on the
parent's own columns (bound from the parent's values in a lazy load, never a FROM
of the parent table), on the target's columns, in a many-to-many's primaryjoin and
secondaryjoin, self-referential.  Lazy, joined and selectin loads give the same rows,
and a many-to-one with extra criteria never answers from the identity map."""

import pytest
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, and_

from datamapper import joinedload, relationship, selectinload


@pytest.fixture
def world(Base, engine, make_session):
    person_tags = Table(
        "person_tags", Base.metadata,
        Column("person_id", Integer, ForeignKey("people.id"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True),
    )

    class City(Base):
        __tablename__ = "cities"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        deleted = Column(Boolean, nullable=False, default=False)
        # one-to-many, extra criteria on the parent (City.deleted) and on the target
        people = relationship(
            "Person", primaryjoin=lambda: and_(City.id == Person.city_id,
                                               City.deleted == False),  # noqa: E712
            order_by=lambda: Person.id, viewonly=True)
        active_people = relationship(
            "Person", primaryjoin=lambda: and_(City.id == Person.city_id,
                                               Person.active == True),  # noqa: E712
            order_by=lambda: Person.id, viewonly=True)

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        active = Column(Boolean, nullable=False, default=True)
        city_id = Column(Integer, ForeignKey("cities.id"))
        city = relationship(City)
        # many-to-one, extra criteria on the target and on the parent
        live_city = relationship(
            City, primaryjoin=lambda: and_(Person.city_id == City.id,
                                           City.deleted == False),  # noqa: E712
            viewonly=True)
        city_if_active = relationship(
            City, primaryjoin=lambda: and_(Person.city_id == City.id,
                                           Person.active == True),  # noqa: E712
            viewonly=True)
        # many-to-many, parent criteria in primaryjoin, target criteria in secondaryjoin
        live_tags = relationship(
            "Tag", secondary=person_tags,
            primaryjoin=lambda: and_(Person.id == person_tags.c.person_id,
                                     Person.active == True),  # noqa: E712
            secondaryjoin=lambda: and_(Tag.id == person_tags.c.tag_id,
                                       Tag.deleted == False),  # noqa: E712
            order_by=lambda: Tag.id, viewonly=True)
        tags = relationship("Tag", secondary=person_tags, order_by=lambda: Tag.id)

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        deleted = Column(Boolean, nullable=False, default=False)

    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        deleted = Column(Boolean, nullable=False, default=False)
        parent_id = Column(Integer, ForeignKey("nodes.id"))
        # self-referential: criteria on the parent node (not the remote side)
        live_children = relationship(
            "Node", primaryjoin=lambda: and_(Node.id == Node.parent_id,
                                             Node.deleted == False),  # noqa: E712
            remote_side=lambda: Node.parent_id, order_by=lambda: Node.id, viewonly=True)
        parent_if_live = relationship(
            "Node", primaryjoin=lambda: and_(Node.parent_id == Node.id,
                                             Node.deleted == False),  # noqa: E712
            remote_side=lambda: Node.id, viewonly=True)

    Base.metadata.create_all(engine)

    s = make_session()
    paris = City(id=1, name="paris", deleted=False)
    atlantis = City(id=2, name="atlantis", deleted=True)
    red, gone = Tag(id=1, name="red"), Tag(id=2, name="gone", deleted=True)
    s.add_all([
        paris, atlantis, red, gone,
        Person(id=1, name="ann", city=paris, active=True, tags=[red, gone]),
        Person(id=2, name="bob", city=paris, active=False, tags=[red]),
        Person(id=3, name="cid", city=atlantis, active=True, tags=[red]),
        Person(id=4, name="dee", city=atlantis, active=True),
        Node(id=1, name="root", deleted=False),
        Node(id=2, name="dead", deleted=True, parent_id=1),
        Node(id=3, name="a", parent_id=1),
        Node(id=4, name="b", parent_id=2),
    ])
    s.commit()
    s.close()
    return City, Person, Tag, Node


def _names(objs):
    return [o.name for o in objs] if isinstance(objs, list) else (objs and objs.name)


EXPECTED = {
    ("City", "people"): {1: ["ann", "bob"], 2: []},
    ("City", "active_people"): {1: ["ann"], 2: ["cid", "dee"]},
    ("Person", "live_city"): {1: "paris", 2: "paris", 3: None, 4: None},
    ("Person", "city_if_active"): {1: "paris", 2: None, 3: "atlantis", 4: "atlantis"},
    ("Person", "live_tags"): {1: ["red"], 2: [], 3: ["red"], 4: []},
    ("Node", "live_children"): {1: ["dead", "a"], 2: [], 3: [], 4: []},
    ("Node", "parent_if_live"): {1: None, 2: None, 3: "root", 4: "dead"},
}


@pytest.mark.parametrize("key", sorted(EXPECTED))
@pytest.mark.parametrize("how", ["lazy", "joined", "selectin"])
def test_extra_join_criteria_give_the_same_rows_lazy_joined_selectin(world, make_session,
                                                                      sql_log, key, how):
    classes = {c.__name__: c for c in world}
    cls = classes[key[0]]
    attr = getattr(cls, key[1])
    s = make_session()
    q = s.query(cls).order_by(cls.id)
    if how == "joined":
        q = q.options(joinedload(attr))
    elif how == "selectin":
        q = q.options(selectinload(attr))
    objs = q.all()
    got = {o.id: _names(getattr(o, key[1])) for o in objs}
    assert got == EXPECTED[key]
    for stmt in sql_log.statements:
        # no SELECT lists two tables without a join condition (a cartesian product)
        flat = " ".join(stmt.split()).upper()
        from_clause = flat.split(" FROM ", 1)[1].split(" WHERE ", 1)[0].split(" ORDER BY ")[0]
        tables = [t.strip() for t in from_clause.split(",") if t.strip() != "PERSON_TAGS"]
        assert len(tables) == 1, stmt


def test_lazy_load_binds_parent_columns_instead_of_selecting_the_parent_table(
        world, make_session, sql_log):
    City, _Person, _Tag, _Node = world
    s = make_session()
    atlantis = s.get(City, 2)
    sql_log.clear()
    assert atlantis.people == []
    (stmt,) = sql_log.statements
    flat = " ".join(stmt.split()).upper()
    from_clause = flat.split(" FROM ", 1)[1].split(" WHERE ", 1)[0]
    assert "CITIES" not in from_clause
    paris = s.get(City, 1)
    assert [p.name for p in paris.people] == ["ann", "bob"]


def test_many_to_one_with_extra_criteria_does_not_answer_from_the_identity_map(
        world, make_session, sql_log):
    City, Person, _Tag, _Node = world
    s = make_session()
    atlantis = s.get(City, 2)  # in the identity map, but excluded by the join criteria
    cid = s.get(Person, 3)
    bob = s.get(Person, 2)
    paris = s.get(City, 1)
    sql_log.clear()
    assert cid.live_city is None
    assert cid.city is atlantis
    assert bob.city_if_active is None
    assert bob.city is paris
    people = s.query(Person).options(selectinload(Person.live_city)).order_by(Person.id).all()
    assert [p.live_city for p in people] == [paris, paris, None, None]


def test_self_referential_criterion_marked_remote_reads_the_related_row(
        Base, engine, make_session):
    """remote(Node.size) > 10 in a self-referential condition is the child's size: every
    loader, a join to an alias and any() read it from the related row (the lazy load
    bound the parent's size, a join to an alias dropped the criterion)."""
    from sqlalchemy import select

    from datamapper import aliased, remote, subqueryload

    class Node(Base):
        __tablename__ = "xc_node"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("xc_node.id"))
        size = Column(Integer)
        big_children = relationship(
            "Node", primaryjoin=lambda: and_(remote(Node.parent_id) == Node.id,
                                             remote(Node.size) > 10),
            order_by=lambda: Node.id, viewonly=True)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Node(id=1, size=1))
    s.flush()
    s.add_all([Node(id=2, parent_id=1, size=5), Node(id=3, parent_id=1, size=50),
               Node(id=4, parent_id=3, size=20)])
    s.commit()
    expected = {1: [3], 2: [], 3: [4], 4: []}
    for opt in (None, joinedload, selectinload, subqueryload):
        s.close()
        stmt = select(Node) if opt is None else select(Node).options(opt(Node.big_children))
        got = {n.id: [k.id for k in n.big_children] for n in s.scalars(stmt).unique()}
        assert got == expected, opt
    kid = aliased(Node)
    assert s.execute(select(Node.id, kid.id).join(Node.big_children.of_type(kid))
                     .order_by(Node.id)).all() == [(1, 3), (3, 4)]
    assert s.scalars(select(Node.id).where(Node.big_children.any()).order_by(Node.id)
                     ).all() == [1, 3]
