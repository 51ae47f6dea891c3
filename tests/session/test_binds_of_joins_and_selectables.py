"""Binds and classes mapped to a join or a SELECT: ``bind_table()`` takes any FROM
clause (a Table, a lightweight ``table()``, a join); a join-mapped class finds the
bind of its tables, and binding the class binds its tables for Core statements;
``connection(bind_arguments={"bind": e})`` uses ``e``."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, join, select
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql import column, table

from datamapper import Session, registry


@pytest.fixture
def mapped():
    reg = registry(metadata=MetaData())
    users = Table("users", reg.metadata, Column("id", Integer, primary_key=True),
                  Column("name", String(20)))
    addresses = Table("addresses", reg.metadata, Column("id", Integer, primary_key=True),
                      Column("user_id", ForeignKey("users.id")))

    class Row:
        pass

    reg.map_imperatively(Row, join(users, addresses), properties={
        "id": [users.c.id, addresses.c.user_id], "address_id": addresses.c.id})
    yield Row, users, addresses
    reg.dispose()


def test_join_mapped_class_uses_the_bind_of_its_table(mapped, engine_factory):
    Row, users, _a = mapped
    e1, e2 = engine_factory(), engine_factory()
    s = Session(e1)
    s.bind_table(users, e2)
    assert s.get_bind(Row) is e2
    s.close()


def test_binding_the_class_binds_its_tables_for_core_statements(mapped, engine_factory):
    Row, _u, addresses = mapped
    e1, e2 = engine_factory(), engine_factory()
    s = Session(e1)
    s.bind_mapper(Row, e2)
    assert s.get_bind(clause=select(addresses)) is e2
    s.close()


def test_bind_table_takes_a_lightweight_table_and_refuses_other_things(engine_factory):
    e1, e2 = engine_factory(), engine_factory()
    view = table("users_view", column("id"))
    s = Session(e1)
    s.bind_table(view, e2)
    assert s.get_bind(clause=select(view)) is e2
    with pytest.raises(ArgumentError, match=r"Can't bind_table\('users'\): it is not a Table"):
        s.bind_table("users", e2)
    s.close()


def test_connection_uses_the_bind_given_in_bind_arguments(engine_factory):
    e1, e2 = engine_factory(), engine_factory()
    s = Session(e1)
    assert s.connection(bind_arguments={"bind": e2}).engine is e2
    s.close()


def test_query_of_no_entity_runs_on_the_bind_of_its_select_from_class(engine_factory):
    from sqlalchemy import event

    from datamapper import relationship

    reg = registry(metadata=MetaData())
    users = Table("users", reg.metadata, Column("id", Integer, primary_key=True))
    addresses = Table("addresses", reg.metadata, Column("id", Integer, primary_key=True),
                      Column("user_id", ForeignKey("users.id")))

    class User:
        pass

    class Address:
        pass

    reg.map_imperatively(User, users, properties={"addresses": relationship(Address)})
    reg.map_imperatively(Address, addresses)
    e1, e2 = engine_factory(), engine_factory()
    reg.metadata.create_all(e1)
    ran = []
    event.listen(e1, "before_cursor_execute", lambda *a: ran.append("e1"))
    event.listen(e2, "before_cursor_execute", lambda *a: ran.append("e2"))
    s = Session(binds={User: e1, Address: e2})
    try:
        q = s.query(1).select_from(User).join(User.addresses)
        assert s.get_bind(clause=q.statement) is e1
        assert q.all() == [] and ran and set(ran) == {"e1"}
    finally:
        s.close()
        reg.metadata.drop_all(e1)
        reg.dispose()
