"""A joined-table hierarchy whose discriminator is a column of the mapping's
``with_polymorphic=("*", selectable)`` selectable only (a ``polymorphic_union()`` of
the tables telling each row's class, no type column stored): every SELECT of the
classes reads the discriminator from that selectable, matched to the row by its key
(was a cartesian product of the union and the tables: each row read once per union
row, under the wrong class)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import polymorphic_union, registry, relationship


def _models(metadata, direction):
    ta = Table("a", metadata, Column("id", Integer, primary_key=True),
               Column("a_data", String(30)),
               *([Column("parent_id", Integer, ForeignKey("b.id", use_alter=True,
                                                           name="fk_a_parent"))]
                 if direction == "o2m" else []))
    tb = Table("b", metadata, Column("id", Integer, ForeignKey("a.id"), primary_key=True),
               Column("b_data", String(30)),
               *([Column("child_id", Integer, ForeignKey("a.id", use_alter=True,
                                                         name="fk_b_child"))]
                 if direction == "m2o" else []))
    tc = Table("c", metadata, Column("id", Integer, ForeignKey("b.id"), primary_key=True),
               Column("c_data", String(30)))
    atob = ta.c.id == tb.c.id
    btoc = tc.c.id == tb.c.id
    only_b = ta.join(tb, atob).outerjoin(tc, btoc).select().where(tc.c.id.is_(None)) \
        .reduce_columns().subquery()
    abc = polymorphic_union({
        "a": ta.select().where(tb.c.id.is_(None)).select_from(ta.outerjoin(tb, atob))
        .subquery(),
        "b": only_b,
        "c": tc.join(tb, btoc).join(ta, atob),
    }, "type", "abcjoin")
    only_b2 = ta.join(tb, atob).outerjoin(tc, btoc).select().where(tc.c.id.is_(None)) \
        .reduce_columns().subquery()
    bc = polymorphic_union({"b": only_b2, "c": tc.join(tb, btoc).join(ta, atob)},
                           "type", "bcjoin")

    class A:
        def __init__(self, name):
            self.a_data = name

    class B(A):
        pass

    class C(B):
        pass

    reg = registry(metadata=metadata)
    reg.map_imperatively(A, ta, polymorphic_on=abc.c.type, with_polymorphic=("*", abc),
                         polymorphic_identity="a")
    reg.map_imperatively(B, tb, polymorphic_on=bc.c.type, with_polymorphic=("*", bc),
                         polymorphic_identity="b", inherits=A, inherit_condition=atob)
    reg.map_imperatively(C, tc, polymorphic_identity="c",
                         with_polymorphic=("*", tc.join(tb, btoc).join(ta, atob)),
                         inherits=B, inherit_condition=btoc)
    if direction == "o2m":
        sa.inspect(B).add_property("collection", relationship(
            A, primaryjoin=tb.c.id == ta.c.parent_id, foreign_keys=[ta.c.parent_id],
            order_by=ta.c.id, uselist=True))
    else:
        sa.inspect(B).add_property("collection", relationship(
            A, primaryjoin=tb.c.child_id == ta.c.id, foreign_keys=[tb.c.child_id],
            order_by=ta.c.id, uselist=True))
    return A, B, C


def _check(engine, make_session, direction):
    metadata = sa.MetaData()
    A, B, C = _models(metadata, direction)
    metadata.create_all(engine)
    s = make_session()
    a, b, c = A("a1"), B("b1"), C("c1")
    parent = C("parent")
    child = B("child")
    parent.collection.append(child)
    s.add_all([a, b, c, parent])
    s.commit()
    ids = {o.a_data: o.id for o in (a, b, c, parent, child)}
    s.close()

    found = s.query(A).order_by(A.a_data).all()
    assert [(type(o).__name__, o.a_data) for o in found] == [
        ("A", "a1"), ("B", "b1"), ("C", "c1"), ("B", "child"), ("C", "parent")]
    s.close()
    assert [(type(o).__name__, o.a_data) for o in s.query(B).order_by(B.a_data)] == [
        ("B", "b1"), ("C", "c1"), ("B", "child"), ("C", "parent")]
    s.close()
    assert [o.a_data for o in s.query(C).order_by(C.a_data)] == ["c1", "parent"]
    s.close()
    got = s.get(A, ids["parent"])
    assert type(got) is C and [type(o).__name__ for o in got.collection] == ["B"]
    assert got.collection[0].id == ids["child"]
    s.close()
    got = s.query(A).filter_by(id=ids["parent"]).one()
    assert type(got) is C and [o.a_data for o in got.collection] == ["child"]
    s.close()
    assert s.query(A).filter(A.a_data == "b1").one().id == ids["b1"]
    assert s.query(A).count() == 5
    s.close()


def test_one_to_many_between_classes_reads_the_discriminator(engine, make_session):
    _check(engine, make_session, "o2m")


def test_many_to_one_between_classes_reads_the_discriminator(engine, make_session):
    _check(engine, make_session, "m2o")


def test_polymorphic_union_of_a_join_names_its_columns_by_their_keys(engine):
    """A join in polymorphic_union()'s map gives the union its columns by their own
    keys (was: by the join's <table>_<column> names, so the union's ``id`` of a join's
    rows was NULL)."""
    metadata = sa.MetaData()
    ta = Table("a", metadata, Column("id", Integer, primary_key=True),
               Column("a_data", String(30)))
    tb = Table("b", metadata, Column("id", Integer, ForeignKey("a.id"), primary_key=True),
               Column("b_data", String(30)))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(ta.insert(), [{"id": 1, "a_data": "x"}, {"id": 2, "a_data": "y"}])
        conn.execute(tb.insert(), [{"id": 2, "b_data": "yb"}])
        only_a = ta.select().where(tb.c.id.is_(None)) \
            .select_from(ta.outerjoin(tb, ta.c.id == tb.c.id)).subquery()
        u = polymorphic_union({"a": only_a, "b": tb.join(ta, ta.c.id == tb.c.id)},
                              "type", "u")
        assert list(u.c.keys()) == ["id", "a_data", "b_data", "type"]
        rows = conn.execute(sa.select(u.c.id, u.c.a_data, u.c.b_data, u.c.type)
                            .order_by(u.c.id)).all()
    assert [tuple(r) for r in rows] == [(1, "x", None, "a"), (2, "y", "yb", "b")]


def _people(metadata):
    people = Table("people", metadata, Column("id", Integer, primary_key=True),
                   Column("name", String(30)), Column("type", String(30)))
    managers = Table("managers", metadata,
                     Column("id", Integer, ForeignKey("people.id"), primary_key=True),
                     Column("status", String(30)))
    cars = Table("cars", metadata, Column("id", Integer, primary_key=True),
                 Column("owner", Integer, ForeignKey("people.id")))
    return people, managers, cars


def test_union_column_over_the_discriminator_column_is_written(engine, make_session):
    """polymorphic_on= the union's column of the base table's own ``type`` column: the
    mapping names the table's column, which the flush writes (was refused: "the column
    is not in people")."""
    metadata = sa.MetaData()
    people, managers, _cars = _people(metadata)
    union = polymorphic_union({
        "person": people.select().where(people.c.type == "person").subquery(),
        "manager": people.join(managers)}, None, "pu")

    class Person:
        pass

    class Manager(Person):
        pass

    reg = registry(metadata=metadata)
    reg.map_imperatively(Person, people, polymorphic_on=union.c.type,
                         with_polymorphic=("*", union), polymorphic_identity="person")
    reg.map_imperatively(Manager, managers, inherits=Person, polymorphic_identity="manager")
    assert sa.inspect(Person).polymorphic_on is people.c.type
    metadata.create_all(engine)
    s = make_session()
    p, m = Person(), Manager()
    p.name, m.name, m.status = "p", "m", "boss"
    s.add_all([p, m])
    s.commit()
    s.close()
    with engine.connect() as conn:
        assert conn.execute(sa.select(people.c.name, people.c.type)
                            .order_by(people.c.name)).all() == [("m", "manager"),
                                                                ("p", "person")]
    found = s.query(Person).order_by(Person.name).all()
    assert [(type(o).__name__, o.name) for o in found] == [("Manager", "m"),
                                                            ("Person", "p")]
    assert found[0].status == "boss"


@pytest.mark.parametrize("loader", ["joined", "selectin", "select"])
def test_relationship_to_the_hierarchy_reads_the_union_discriminator(
        engine, make_session, loader):
    """A relationship to the base whose discriminator is the union's ``type``
    literal, eager or lazy: the related object's class read from the union (was: a
    joined eager load's cartesian product of the union and the aliased tables)."""
    metadata = sa.MetaData()
    people, managers, cars = _people(metadata)
    union = polymorphic_union({
        "person": people.select().where(
            ~people.c.id.in_(sa.select(managers.c.id))).subquery(),
        "manager": people.join(managers)}, "kind", "pu")

    class Person:
        pass

    class Manager(Person):
        pass

    class Car:
        pass

    reg = registry(metadata=metadata)
    reg.map_imperatively(Person, people, polymorphic_on=union.c.kind,
                         with_polymorphic=("*", union), polymorphic_identity="person")
    reg.map_imperatively(Manager, managers, inherits=Person, polymorphic_identity="manager")
    reg.map_imperatively(Car, cars, properties={
        "owner_obj": relationship(Person, lazy=loader)})
    metadata.create_all(engine)
    s = make_session()
    p, m = Person(), Manager()
    p.name, m.name, m.status = "p", "m", "boss"
    c1, c2 = Car(), Car()
    c1.owner_obj, c2.owner_obj = m, p
    s.add_all([c1, c2])
    s.commit()
    ids = (c1.id, c2.id)
    s.close()
    cars_found = s.query(Car).order_by(Car.id).all()
    assert [c.id for c in cars_found] == list(ids)
    assert [(type(c.owner_obj).__name__, c.owner_obj.name) for c in cars_found] == [
        ("Manager", "m"), ("Person", "p")]
    assert cars_found[0].owner_obj.status == "boss"
