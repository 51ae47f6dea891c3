"""The higher layers' per-mapper caches (mapping/cache.py) follow one rule: they
are emptied whenever a mapper is created, configured, given a property or
disposed, so what they hold never outlives the configuration it came from."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import Session, configure_mappers, registry, relationship
from datamapper.mapping.cache import CacheSlot

_PROBE: CacheSlot[str] = CacheSlot("test probe")


def test_add_property_rebuilds_the_write_plan_so_the_new_column_is_inserted(
        metadata, engine, read_rows):
    t = Table("cache_items", metadata, Column("id", Integer, primary_key=True),
              Column("name", String(20)), Column("note", String(20)))
    metadata.create_all(engine)

    class Item:
        pass

    reg = registry(metadata=metadata)
    m = reg.map_imperatively(Item, t, exclude_properties=["note"])
    with Session(engine) as s:
        a = Item()
        a.id, a.name = 1, "a"
        s.add(a)
        s.commit()  # the write plan of Item is built and cached here
    m.add_property("note", t.c.note)
    with Session(engine) as s:
        b = Item()
        b.id, b.name, b.note = 2, "b", "written"
        s.add(b)
        s.commit()
    assert read_rows(t) == [(1, "a", None), (2, "b", "written")]


def test_a_new_mapper_empties_every_cache(metadata):
    reg = registry(metadata=metadata)
    a = Table("cache_a", metadata, Column("id", Integer, primary_key=True))
    b = Table("cache_b", metadata, Column("id", Integer, primary_key=True),
              Column("a_id", ForeignKey("cache_a.id")))

    class A:
        pass

    class B:
        pass

    ma = reg.map_imperatively(A, a)
    _PROBE.set(ma, "stale")
    assert _PROBE.get(ma) == "stale"
    reg.map_imperatively(B, b, properties={"a": relationship(A)})
    assert _PROBE.get(ma) is None  # B's rows refer to A's: what was cached about A is gone


def test_configure_and_dispose_empty_the_caches_of_mappers_and_relationships(metadata):
    reg = registry(metadata=metadata)
    a = Table("cache_p", metadata, Column("id", Integer, primary_key=True))
    b = Table("cache_c", metadata, Column("id", Integer, primary_key=True),
              Column("p_id", ForeignKey("cache_p.id")))

    class P:
        pass

    class C:
        pass

    rel = relationship(C)
    mp = reg.map_imperatively(P, a, properties={"children": rel})
    reg.map_imperatively(C, b)
    assert not mp.configured
    _PROBE.set(mp, "x")
    _PROBE.set(rel, "y")
    configure_mappers()
    assert (_PROBE.get(mp), _PROBE.get(rel)) == (None, None)
    _PROBE.set(mp, "x")
    _PROBE.set(rel, "y")
    reg.dispose()
    assert (_PROBE.get(mp), _PROBE.get(rel)) == (None, None)
