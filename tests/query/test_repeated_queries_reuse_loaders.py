"""Repeated short queries share one row loader per mapper configuration.

The loader (and its generated row loop) is cached on the mapper; these tests
check that it is built once for many executions of the same statement shape,
that a change of the mapping (``add_property()``, ``clear_mappers()`` and
remapping) is seen by the next query, and that the cached loop keeps the
per-session behaviour (weak / strong identity map, populate_existing, loader
options).  No timing is asserted.
"""

import gc

import pytest
from sqlalchemy import Column, Integer, String, Table, text

from datamapper import clear_mappers, defer, inspect, registry, select
from datamapper.loading import rows


@pytest.fixture
def counted_loops(monkeypatch):
    """Counts the row loops generated (one per loader actually built)."""
    made = []
    real = rows._make_fast_loop

    def counting(loader):
        made.append(loader)
        return real(loader)

    monkeypatch.setattr(rows, "_make_fast_loop", counting)
    return made


def _seed(session, User, n=30):
    session.add_all([User(id=i, name=f"u{i}", note=f"n{i}") for i in range(1, n + 1)])
    session.commit()
    session.expunge_all()


def test_repeated_short_queries_generate_one_row_loop(make_session, User, counted_loops):
    s = make_session()
    _seed(s, User)
    got = []
    for lo in range(1, 31, 10):
        got += s.query(User).filter(User.id >= lo, User.id < lo + 10).all()
    s.expunge_all()
    for lo in range(1, 31, 10):
        got += s.scalars(select(User).where(User.id >= lo, User.id < lo + 10)).all()
    assert [u.id for u in got] == list(range(1, 31)) * 2
    assert [u.name for u in got[30:]] == [f"u{i}" for i in range(1, 31)]
    assert len(counted_loops) == 1


def test_query_after_add_property_loads_the_new_column(engine, metadata, make_session):
    t = Table("lc_things", metadata, Column("id", Integer, primary_key=True),
              Column("name", String(20)), Column("extra", String(20)))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO lc_things (id, name, extra) VALUES (1, 'a', 'x')"))

    class Thing:
        pass

    reg = registry(metadata=metadata)
    m = reg.map_imperatively(Thing, t, exclude_properties=["extra"])
    try:
        s = make_session()
        first = s.query(Thing).filter(Thing.id == 1).one()
        assert "extra" not in first.__dict__
        s.close()
        m.add_property("extra", t.c.extra)
        s2 = make_session()
        again = s2.query(Thing).filter(Thing.id == 1).one()
        assert again.__dict__["extra"] == "x"
        again2 = s2.scalars(select(Thing).where(Thing.id == 1)).one()
        assert again2 is again
    finally:
        clear_mappers()


def test_query_after_clear_mappers_uses_the_new_mapping(engine, metadata, make_session):
    t = Table("lc_items", metadata, Column("id", Integer, primary_key=True),
              Column("name", String(20)), Column("note", String(20)))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO lc_items (id, name, note) VALUES (1, 'a', 'b')"))

    class Item:
        pass

    try:
        registry(metadata=metadata).map_imperatively(Item, t, include_properties=["id", "name"])
        s = make_session()
        one = s.query(Item).filter(Item.id == 1).one()
        assert (one.name, "note" in one.__dict__) == ("a", False)
        s.close()
        clear_mappers()
        registry(metadata=metadata).map_imperatively(
            Item, t, properties={"label": t.c.name, "note": t.c.note}
        )
        s2 = make_session()
        two = s2.query(Item).filter(Item.id == 1).one()
        assert (two.label, two.note) == ("a", "b")
        assert "name" not in two.__dict__
    finally:
        clear_mappers()


@pytest.mark.parametrize("weak", [True, False], ids=["weak_map", "strong_map"])
def test_cached_loader_keeps_identity_map_kind(make_session, User, weak):
    s = make_session() if weak else make_session(weak_identity_map=False)
    _seed(s, User)
    for lo in (1, 11):  # the second query runs the loop the first one cached
        ids = [u.id for u in s.query(User).filter(User.id >= lo, User.id < lo + 10)]
        assert ids == list(range(lo, lo + 10))
    gc.collect()
    assert len(s.identity_map) == (0 if weak else 20)


def test_cached_loader_with_populate_existing_and_options(engine, make_session, User):
    s = make_session(expire_on_commit=False, autoflush=False)
    _seed(s, User, n=3)
    users = s.query(User).filter(User.id < 4).all()  # cached plain loader
    s.commit()  # end the read transaction (expire_on_commit=False keeps the values)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'db', note = 'dbnote'"))
    users[0].name = "unflushed"
    again = s.query(User).filter(User.id < 4).all()
    assert again == users
    assert [u.name for u in users] == ["unflushed", "u2", "u3"]
    refreshed = s.query(User).populate_existing().filter(User.id < 4).all()
    assert refreshed == users
    assert [u.name for u in users] == ["db"] * 3
    s.expunge_all()
    deferred = s.query(User).options(defer(User.note)).filter(User.id < 4).all()
    assert all("note" not in u.__dict__ for u in deferred)
    assert "note" in inspect(deferred[0]).unloaded
    plain = s.scalars(select(User).where(User.id == 1).execution_options(
        populate_existing=True)).one()
    assert plain is deferred[0]
    assert plain.note == "dbnote"


def test_repeated_column_queries_share_one_layout(make_session, User, monkeypatch):
    from datamapper.query import entities

    s = make_session()
    _seed(s, User)
    built = []
    real = entities.RowLayout.__init__

    def counting(self, *a, **kw):
        built.append(a[0])
        real(self, *a, **kw)

    monkeypatch.setattr(entities.RowLayout, "__init__", counting)
    rows = [s.query(User.id, User.name).filter(User.id == i).one() for i in (1, 2, 3)]
    assert [tuple(r) for r in rows] == [(1, "u1"), (2, "u2"), (3, "u3")]
    assert [r.name for r in rows] == ["u1", "u2", "u3"]
    assert len(built) == 1
    # another choice or order of the attributes is another layout
    assert tuple(s.query(User.name, User.id).filter(User.id == 4).one()) == ("u4", 4)
    assert tuple(s.query(User.note).filter(User.id == 4).one()) == ("n4",)
    assert len(built) == 3


def test_column_query_after_add_property_sees_the_new_attribute(engine, metadata,
                                                                 make_session):
    t = Table("lc_cols", metadata, Column("id", Integer, primary_key=True),
              Column("name", String(20)), Column("extra", String(20)))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO lc_cols (id, name, extra) VALUES (1, 'a', 'x')"))

    class Col:
        pass

    reg = registry(metadata=metadata)
    m = reg.map_imperatively(Col, t, exclude_properties=["extra"])
    try:
        s = make_session()
        s.query(Col).first()  # configures the mappers
        assert tuple(s.query(Col.id, Col.name).one()) == (1, "a")
        m.add_property("name_again", t.c.name)
        m.add_property("extra", t.c.extra)
        row = s.query(Col.id, Col.name, Col.extra).one()
        assert tuple(row) == (1, "a", "x") and row.extra == "x"
        assert tuple(s.query(Col.id, Col.name).one()) == (1, "a")
    finally:
        clear_mappers()
