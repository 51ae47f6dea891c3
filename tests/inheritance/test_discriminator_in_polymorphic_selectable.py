"""A joined-table hierarchy whose discriminator is a column of the mapping's
``with_polymorphic=("*", selectable)`` selectable only (a ``polymorphic_union()`` of
the tables telling each row's class, no type column stored): every SELECT of the
classes reads the discriminator from that selectable, matched to the row by its key
(was a cartesian product of the union and the tables: each row read once per union
row, under the wrong class)."""

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
