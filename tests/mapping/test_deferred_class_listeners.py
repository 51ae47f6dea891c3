"""Mapper events listened for on a class before it is mapped apply once it is
mapped; to its subclasses only with propagate=True."""

import pytest
from sqlalchemy import Column, Integer, MetaData, Table

import datamapper
from datamapper import registry


@pytest.fixture
def table():
    return Table("things", MetaData(), Column("id", Integer, primary_key=True))


@pytest.mark.parametrize("propagate", [False, True])
def test_listener_on_unmapped_class(table, propagate):
    class Thing:
        pass

    class SubThing(Thing):
        pass

    seen = []

    def before_insert(mapper, conn, target):
        seen.append(mapper.class_)

    datamapper.event.listen(Thing, "before_insert", before_insert, propagate=propagate)
    try:
        reg = registry()
        sub = reg.map_imperatively(SubThing, table)
        sub.dispatch.before_insert(sub, None, None)
        assert seen == ([SubThing] if propagate else [])
        reg.dispose()
        m = registry().map_imperatively(Thing, table)
        m.dispatch.before_insert(m, None, None)
        assert seen[-1] is Thing
    finally:
        datamapper.event.remove(Thing, "before_insert", before_insert)
