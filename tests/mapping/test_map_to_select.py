"""A class mapped to a SELECT (a subquery): queries read through the subquery; a
flush writes the table whose whole key the SELECT includes, and nothing for a
SELECT that leaves part of it out."""

import pytest
from sqlalchemy import Column, Integer, String, Table, func, select
from sqlalchemy.exc import ArgumentError

from datamapper import inspect, registry


class Item:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _items(reg):
    return Table("items", reg.metadata,
                 Column("id", Integer, primary_key=True),
                 Column("kind", String(10)),
                 Column("label", String(30)),
                 Column("price", Integer))


@pytest.fixture
def mapped(engine):
    reg = registry()
    items = _items(reg)
    cheap = select(items).where(items.c.price < 100).subquery("cheap")
    reg.map_imperatively(Item, cheap)
    reg.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(items.insert(), [
            {"id": 1, "kind": "a", "label": "pen", "price": 5},
            {"id": 2, "kind": "b", "label": "car", "price": 5000},
            {"id": 3, "kind": "a", "label": "cup", "price": 8},
            {"id": 4, "kind": "b", "label": "box", "price": 3},
        ])
    yield items, cheap
    reg.dispose()


def test_key_is_the_subquerys_column_and_table_is_found(mapped):
    items, cheap = mapped
    m = inspect(Item)
    assert m.local_table is cheap
    assert m.primary_key == (cheap.c.id,)
    assert m.tables == [items]


def test_query_reads_through_the_subquery_with_filter_and_order(mapped, make_session,
                                                                 sql_log):
    s = make_session()
    got = s.scalars(select(Item).where(Item.kind == "a").order_by(Item.label.desc())).all()
    assert [(i.id, i.label) for i in got] == [(1, "pen"), (3, "cup")]
    assert "FROM (SELECT" in sql_log.statements[-1]
    assert [i.id for i in s.query(Item).order_by(Item.price).all()] == [4, 1, 3]
    assert s.get(Item, 2) is None  # outside the SELECT's WHERE
    assert s.get(Item, 3) is got[1]


def test_update_and_insert_write_the_selected_table(mapped, make_session, read_rows,
                                                    sql_log):
    items, _c = mapped
    s = make_session()
    pen = s.get(Item, 1)
    pen.label = "pencil"
    s.add(Item(id=9, kind="c", label="mug", price=7))
    s.commit()
    assert [st.split()[:3] for st in sql_log.matching("INSERT")] == [["INSERT", "INTO", "items"]]
    assert [st.split()[1] for st in sql_log.matching("UPDATE")] == ["items"]
    assert read_rows(items, id=1) == [(1, "a", "pencil", 5)]
    assert read_rows(items, id=9) == [(9, "c", "mug", 7)]
    s.delete(pen)
    s.commit()
    assert read_rows(items, id=1) == []


def test_select_without_a_key_needs_primary_key(engine, make_session):
    reg = registry()
    items = _items(reg)
    totals = select(items.c.kind, func.sum(items.c.price).label("total")) \
        .group_by(items.c.kind).subquery("totals")

    class Total:
        pass

    with pytest.raises(ArgumentError, match=r"Can't map Total to totals: could not assemble any "
                       r"primary key columns .*pass primary_key="):
        reg.map_imperatively(Total, totals)
    reg.dispose()

    reg = registry(metadata=items.metadata)
    reg.map_imperatively(Total, totals, primary_key=[totals.c.kind])
    items.metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(items.insert(), [{"id": 1, "kind": "a", "price": 2},
                                          {"id": 2, "kind": "a", "price": 3},
                                          {"id": 3, "kind": "b", "price": 4}])
        s = make_session()
        got = s.scalars(select(Total).order_by(Total.kind)).all()
        assert [(t.kind, t.total) for t in got] == [("a", 5), ("b", 4)]
        assert s.get(Total, "b") is got[1]
    finally:
        reg.dispose()


def test_select_leaving_out_part_of_the_key_writes_nothing(engine, make_session, read_rows,
                                                           sql_log):
    reg = registry()
    items = _items(reg)
    kinds = select(items.c.kind).distinct().subquery("kinds")

    class Kind:
        pass

    reg.map_imperatively(Kind, kinds, primary_key=[kinds.c.kind])
    items.metadata.create_all(engine)
    try:
        s = make_session()
        k = Kind()
        k.kind = "z"
        s.add(k)
        s.commit()
        assert sql_log.matching("INSERT") == []
        assert read_rows(items) == []
    finally:
        reg.dispose()


def test_plain_select_is_mapped_as_its_subquery(engine, make_session):
    reg = registry()
    items = _items(reg)

    class Thing:
        pass

    m = reg.map_imperatively(Thing, select(items).where(items.c.kind == "a"))
    items.metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(items.insert(), [{"id": 1, "kind": "a"}, {"id": 2, "kind": "b"}])
        assert m.tables == [items]
        s = make_session()
        assert [t.id for t in s.scalars(select(Thing))] == [1]
    finally:
        reg.dispose()


def test_dictionary_keyed_by_a_subquery_column_survives_a_pickle():
    import pickle

    from datamapper import column_keyed_dict

    reg = registry()
    items = _items(reg)
    sub = select(items).subquery()

    class Thing:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    reg.map_imperatively(Thing, sub)
    try:
        coll = column_keyed_dict(sub.c.label)()
        again = pickle.loads(pickle.dumps(coll))
        assert again.keyfunc(Thing(label="pen")) == "pen"
    finally:
        reg.dispose()


class Owner:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class Pet:
    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.mark.parametrize("side", ["parent", "child"])
@pytest.mark.parametrize("form", ["subquery", "cte"])
def test_relationship_join_derived_through_a_mapped_select(engine, make_session, side,
                                                            form):
    """The foreign key between two tables joins their classes when either class is
    mapped to a SELECT of its table (a subquery or a CTE): relationship() derives the
    join without primaryjoin=, and lazy, joined and selectin loads read the rows."""
    from sqlalchemy import ForeignKey

    from datamapper import joinedload, relationship, selectinload

    reg = registry()
    owners = Table("owners", reg.metadata, Column("id", Integer, primary_key=True),
                   Column("name", String(20)))
    pets = Table("pets", reg.metadata, Column("id", Integer, primary_key=True),
                 Column("owner_id", Integer, ForeignKey("owners.id")),
                 Column("name", String(20)))
    reg.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(owners.insert(), [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}])
        conn.execute(pets.insert(), [{"id": 1, "owner_id": 1, "name": "rex"},
                                     {"id": 2, "owner_id": 1, "name": "tom"},
                                     {"id": 3, "owner_id": 2, "name": "kit"}])

    def sel(t):
        s = select(t)
        return s.subquery() if form == "subquery" else s.cte()

    try:
        reg.map_imperatively(Owner, sel(owners) if side == "parent" else owners,
                             properties={"pets": relationship(Pet, backref="owner",
                                                              order_by="Pet.id")})
        reg.map_imperatively(Pet, sel(pets) if side == "child" else pets)
        s = make_session()
        for opt in (None, joinedload, selectinload):
            s.expunge_all()
            q = s.query(Owner).order_by(Owner.id)
            if opt is not None:
                q = q.options(opt(Owner.pets))
            got = [(o.name, [p.name for p in o.pets]) for o in q]
            assert got == [("ann", ["rex", "tom"]), ("bob", ["kit"])]
        s.expunge_all()
        assert [(p.name, p.owner.name) for p in s.query(Pet).order_by(Pet.id)] == [
            ("rex", "ann"), ("tom", "ann"), ("kit", "bob")]
        assert [o.name for o in s.query(Owner).join(Owner.pets).filter(Pet.name == "kit")
                ] == ["bob"]
    finally:
        reg.dispose()
