"""``synonym("_a_id", map_column=True)`` at key ``a_id``: the table column whose key
is ``a_id`` is mapped under ``_a_id`` and ``a_id`` reads and writes it; a
relationship can use the synonym in its join condition."""

import pytest
from sqlalchemy import Column, Integer, MetaData, Table

from datamapper import exc, foreign, registry, relationship, synonym


def test_map_column_maps_the_column_under_the_synonyms_target(engine, make_session,
                                                               read_rows):
    md = MetaData()
    table_a = Table("syn_a", md, Column("id", Integer, primary_key=True))
    table_b = Table("syn_b", md, Column("id", Integer, primary_key=True),
                    Column("_a_id", Integer, key="a_id", primary_key=True))

    class A:
        pass

    class B:
        pass

    reg = registry(metadata=md)
    reg.map_imperatively(B, table_b, properties={"a_id": synonym("_a_id", map_column=True)})
    reg.map_imperatively(A, table_a, properties={"b": relationship(
        B, primaryjoin=table_a.c.id == foreign(B.a_id), uselist=False)})
    md.create_all(engine)
    s = make_session()
    b = B(id=0)
    a = A(id=5, b=b)
    s.add_all([a, b])
    s.commit()
    assert read_rows("SELECT id, _a_id FROM syn_b") == [(0, 5)]
    assert b._a_id == 5 and b.a_id == 5
    s.close()
    s = make_session()
    b2 = s.query(B).filter(B.a_id == 5).one()
    assert b2._a_id == 5
    assert s.get(A, 5).b is b2


def test_map_column_without_such_a_column_is_refused():
    md = MetaData()
    t = Table("syn_c", md, Column("id", Integer, primary_key=True))

    class C:
        pass

    with pytest.raises(exc.ArgumentError, match=r"C\.nope.*map_column=True.*'nope'"):
        registry(metadata=md).map_imperatively(
            C, t, properties={"nope": synonym("_nope", map_column=True)})
