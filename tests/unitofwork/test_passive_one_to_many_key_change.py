"""passive_updates=True (the default) on a one-to-many, with ON UPDATE CASCADE in the
database: when the parent's key changes, the flush UPDATEs the parent's row only and
the database changes the children's foreign keys.  The flush UPDATEd every loaded
child too, which failed with StaleDataError when the foreign key is part of the
child's primary key (the database had already changed the row it looked for).
(passive_updates=False, for databases without the cascade: test_passive_updates_false.py.)"""

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, String, Table

from datamapper import Session, registry, relationship


@pytest.fixture
def models(engine, backend_name):
    if backend_name == "sqlite":
        pytest.skip("the test's SQLite connections do not enforce foreign keys")
    md = MetaData()
    users = Table("pom_users", md, Column("username", String(20), primary_key=True),
                  Column("fullname", String(20)))
    addresses = Table("pom_addresses", md,
                      Column("username", String(20),
                             ForeignKey("pom_users.username", onupdate="CASCADE"),
                             primary_key=True),
                      Column("email", String(20), primary_key=True))

    def make(passive):
        class User:
            pass

        class Address:
            pass

        reg = registry()
        reg.map_imperatively(User, users, properties={
            "addresses": relationship(Address, passive_updates=passive,
                                      order_by=addresses.c.email)})
        reg.map_imperatively(Address, addresses)
        return reg, User, Address

    md.create_all(engine)
    yield users, addresses, make
    md.drop_all(engine)


def test_a_parent_key_change_moves_its_children(models, engine, read_rows, sql_log):
    users, addresses, make = models
    reg, User, Address = make(True)
    try:
        with Session(engine) as s:
            u = User()
            u.username, u.fullname = "jack", "J"
            for email in ("a", "b"):
                a = Address()
                a.email = email
                u.addresses.append(a)
            s.add(u)
            s.commit()
            assert [a.username for a in u.addresses] == ["jack", "jack"]
            sql_log.clear()
            u.username = "ed"
            s.flush()
            updates = sql_log.matching("UPDATE")
            assert len(updates) == 1  # the parent's row only
            assert [a.username for a in u.addresses] == ["ed", "ed"]
            s.commit()
            assert [a.username for a in u.addresses] == ["ed", "ed"]
        assert read_rows(addresses) == [("ed", "a"), ("ed", "b")]
        assert read_rows(users) == [("ed", "J")]
    finally:
        reg.dispose()
