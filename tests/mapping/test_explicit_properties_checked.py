"""``properties={...}`` given to a mapper are checked against its table, as
SQLAlchemy checks them: a relationship (or synonym) under the name of a table column
would leave that column unmapped without a word, and a column of another table would
be read from a cartesian product and never written.  Both are refused, naming the
attribute and the fix; the fixes named work."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.exc import ArgumentError

from datamapper import column_property, registry, relationship, synonym


@pytest.fixture
def reg():
    reg = registry()
    Table("users", reg.metadata, Column("id", Integer, primary_key=True),
          Column("name", String(30)))
    Table("addresses", reg.metadata, Column("id", Integer, primary_key=True),
          Column("user_id", ForeignKey("users.id")), Column("email", String(50)))
    yield reg
    reg.dispose()


def _classes():
    class User:
        pass

    class Address:
        pass

    return User, Address


@pytest.mark.parametrize("kind", ["relationship", "synonym"])
def test_a_property_under_the_name_of_a_table_column_is_refused(reg, kind):
    User, Address = _classes()
    users, addresses = reg.metadata.tables["users"], reg.metadata.tables["addresses"]
    reg.map_imperatively(Address, addresses)
    prop = relationship(Address) if kind == "relationship" else synonym("id")
    with pytest.raises(ArgumentError, match=(
            rf"Can't map column users.name to User.name: that name is taken by the "
            rf"{kind}\(\) User.name; map the column under another name "
            r"\(properties=\{'_name': users.c.name\}.*exclude_properties=\['name'\]")):
        reg.map_imperatively(User, users, properties={"name": prop})


def test_the_fixes_the_refusal_names_map_both(reg, engine, make_session, read_rows):
    User, Address = _classes()
    users, addresses = reg.metadata.tables["users"], reg.metadata.tables["addresses"]
    reg.map_imperatively(Address, addresses)
    reg.map_imperatively(User, users, properties={
        "name": relationship(Address), "_name": users.c.name})
    reg.metadata.create_all(engine)
    s = make_session()
    u = User()
    u.id, u._name = 1, "ed"
    a = Address()
    a.id, a.email = 5, "e@x"
    u.name = [a]
    s.add(u)
    s.commit()
    assert read_rows("SELECT id, name FROM users") == [(1, "ed")]
    assert read_rows("SELECT id, user_id FROM addresses") == [(5, 1)]


@pytest.mark.parametrize("as_list", [False, True])
def test_a_column_of_another_table_is_refused(reg, as_list):
    User, _ = _classes()
    users, addresses = reg.metadata.tables["users"], reg.metadata.tables["addresses"]
    value = [addresses.c.user_id] if as_list else addresses.c.user_id
    with pytest.raises(ArgumentError, match=(
            r"Can't map User.foo: column addresses.user_id is not a column of users, the "
            r"mapper's table; .*column_property\(\)")):
        reg.map_imperatively(User, users, properties={"foo": value})


def test_a_column_of_the_table_or_of_a_join_under_another_name_maps(
        reg, engine, make_session, read_rows):
    User, Address = _classes()
    users, addresses = reg.metadata.tables["users"], reg.metadata.tables["addresses"]
    reg.map_imperatively(User, users, properties={"username": users.c.name})
    reg.map_imperatively(Address, addresses.join(users), properties={
        "id": addresses.c.id, "uid": [users.c.id, addresses.c.user_id],
        "name_upper": column_property(users.c.name + "!")})
    reg.metadata.create_all(engine)
    s = make_session()
    u = User()
    u.id, u.username = 1, "ed"
    s.add(u)
    s.commit()
    assert read_rows("SELECT id, name FROM users") == [(1, "ed")]
    s.close()
