"""``Mapper.add_property()`` under the name of an attribute already mapped (a table
column mapped by default) replaces it: the new property is what the class attribute
reads and writes, and the column goes to the property that maps it under its new name.

It used to keep the old column attribute's instrumentation: after
``add_property("_name", users.c.name)`` and ``add_property("name", synonym("_name"))``,
``user.name`` read None (the column was loaded into ``_name``), and a program's own
``name`` property, which the synonym should call, was never reached."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from datamapper import Session, deferred, registry, synonym


@pytest.fixture
def users(engine):
    md = MetaData()
    t = Table("ap_users", md, Column("id", Integer, primary_key=True), Column("name", String(20)))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": 7, "name": "jack"}, {"id": 8, "name": "ed"}])
    return t


@pytest.mark.parametrize("column", ["plain", "deferred"])
def test_a_synonym_added_over_a_column_attribute_reads_the_renamed_column(
        engine, users, column, sql_log):
    reg = registry()

    class User:
        pass

    m = reg.map_imperatively(User, users)
    m.add_property("_name", deferred(users.c.name) if column == "deferred" else users.c.name)
    m.add_property("name", synonym("_name"))
    with Session(engine) as s:
        u = s.query(User).filter_by(name="jack").one()  # (the synonym in SQL)
        assert u.id == 7
        assert u.name == "jack" and u._name == "jack"
        u.name = "jacky"
        s.commit()
    with engine.connect() as conn:
        assert conn.execute(users.select().order_by(users.c.id)).all() == [
            (7, "jacky"), (8, "ed")]


def test_a_synonym_added_over_a_column_attribute_calls_the_programs_property(engine, users):
    reg = registry()
    calls = []

    class User:
        def _get_name(self):
            calls.append(("get", self._name))
            return self._name

        def _set_name(self, value):
            calls.append(("set", value))
            self._name = value

        name = property(_get_name, _set_name)

    m = reg.map_imperatively(User, users)
    m.add_property("_name", deferred(users.c.name))
    m.add_property("name", synonym("_name"))
    with Session(engine) as s:
        u = s.get(User, 7)
        assert u.name == "jack"
        assert calls == [("get", "jack")]
        u.name = "jo"
        s.commit()
        assert calls[-1] == ("set", "jo")
    with engine.connect() as conn:
        assert conn.execute(users.select().where(users.c.id == 7)).one() == (7, "jo")
