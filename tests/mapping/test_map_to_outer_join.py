"""A class mapped to an OUTER join: its key is partly NULL where the outer side has
no row.  With ``allow_partial_pks=False`` such a row is no object (None in a query's
results, left out of relationship collections); by default it is one, with the outer
side's attributes None.  A relationship to or from such a class configures from the
foreign keys of the join's tables."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, select

from datamapper import joinedload, registry, relationship, selectinload, subqueryload


class Parent:
    pass


class Strict:
    pass


class Lenient:
    pass


@pytest.fixture
def outer(engine):
    reg = registry()
    p = Table("oj_parent", reg.metadata, Column("id", Integer, primary_key=True))
    a = Table("oj_a", reg.metadata, Column("id", Integer, primary_key=True),
              Column("pid", ForeignKey("oj_parent.id")), Column("x", String(10)))
    b = Table("oj_b", reg.metadata, Column("bid", Integer, primary_key=True),
              Column("aid", ForeignKey("oj_a.id")), Column("y", String(10)))
    j = a.outerjoin(b)
    props = {"aid": [a.c.id, b.c.aid], "bid": b.c.bid}
    reg.map_imperatively(Strict, j, properties=dict(props), allow_partial_pks=False)
    reg.map_imperatively(Lenient, j, properties=dict(props))
    reg.map_imperatively(Parent, p, properties={
        "stricts": relationship(Strict, viewonly=True, order_by=a.c.id),
        "lenients": relationship(Lenient, viewonly=True, order_by=a.c.id)})
    reg.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(p.insert(), [{"id": 1}])
        conn.execute(a.insert(), [{"id": 1, "pid": 1, "x": "one"},
                                  {"id": 2, "pid": 1, "x": "two"}])
        conn.execute(b.insert(), [{"bid": 5, "aid": 1, "y": "uno"}])
    yield a
    reg.dispose()


def _keys(objs):
    return [None if o is None else (o.aid, o.bid) for o in objs]


def test_partly_null_key_row_is_no_object_without_partial_pks(outer, make_session):
    a = outer
    s = make_session()
    assert _keys(s.query(Strict).order_by(a.c.id).all()) == [(1, 5), None]
    assert [(None if o is None else o.bid, x) for o, x in
            s.query(Strict, a.c.x).order_by(a.c.id)] == [(5, "one"), (None, "two")]
    assert _keys(s.scalars(select(Strict).order_by(a.c.id)).all()) == [(1, 5), None]
    assert s.get(Strict, (2, None)) is None
    assert _keys([s.get(Strict, (1, 5))]) == [(1, 5)]


def test_partly_null_key_row_is_an_object_by_default(outer, make_session):
    a = outer
    s = make_session()
    assert _keys(s.query(Lenient).order_by(a.c.id).all()) == [(1, 5), (2, None)]
    assert _keys([s.get(Lenient, (2, None))]) == [(2, None)]


@pytest.mark.parametrize("opt", [None, joinedload, selectinload, subqueryload])
def test_collection_leaves_out_partly_null_key_rows(outer, make_session, opt):
    s = make_session()
    q = s.query(Parent)
    if opt is not None:
        q = q.options(opt(Parent.stricts), opt(Parent.lenients))
    parent = q.one()
    assert _keys(parent.stricts) == [(1, 5)]
    assert _keys(parent.lenients) == [(1, 5), (2, None)]


def test_many_to_one_from_a_class_mapped_to_a_join_reads_the_join_tables_keys(engine,
                                                                             make_session):
    reg = registry()
    p = Table("oj_parent", reg.metadata, Column("id", Integer, primary_key=True))
    a = Table("oj_a", reg.metadata, Column("id", Integer, primary_key=True),
              Column("pid", ForeignKey("oj_parent.id")))
    b = Table("oj_b", reg.metadata, Column("bid", Integer, primary_key=True),
              Column("aid", ForeignKey("oj_a.id")))

    class P:
        pass

    class AB:
        pass

    reg.map_imperatively(P, p)
    reg.map_imperatively(AB, a.join(b), properties={
        "aid": [a.c.id, b.c.aid], "parent": relationship(P)})
    reg.metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(p.insert(), [{"id": 7}])
            conn.execute(a.insert(), [{"id": 1, "pid": 7}])
            conn.execute(b.insert(), [{"bid": 5, "aid": 1}])
        s = make_session()
        ab = s.query(AB).one()
        assert ab.parent.id == 7
        assert s.query(AB).join(AB.parent).filter(P.id == 7).one() is ab
    finally:
        reg.dispose()
