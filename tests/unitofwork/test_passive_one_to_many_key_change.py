"""passive_updates=True (the default) on a one-to-many, with ON UPDATE CASCADE in the
database: when the parent's key changes, the flush UPDATEs the parent's row only and
the database changes the children's foreign keys.  The flush UPDATEd every loaded
child too, which failed with StaleDataError when the foreign key is part of the
child's primary key (the database had already changed the row it looked for).
(passive_updates=False, for databases without the cascade: test_passive_updates_false.py.)"""

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, create_engine, event

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


def test_a_child_changed_in_the_same_flush_is_found_by_its_new_key(models, engine, read_rows,
                                                                    sql_log):
    # the child's own UPDATE (email) runs after the database cascaded the parent's new
    # key into its row: it must look for the row under the new key (StaleDataError)
    users, addresses, make = models
    reg, User, Address = make(True)
    try:
        with Session(engine) as s:
            u = User()
            u.username, u.fullname = "ed", "E"
            a1, a2 = Address(), Address()
            a1.email, a2.email = "h1", "h2"
            u.addresses = [a1, a2]
            s.add(u)
            s.commit()
            assert [a.username for a in u.addresses] == ["ed", "ed"]
            u.username = "jack"
            a2.email = "h3"
            s.flush()
            assert (a1.username, a2.username) == ("jack", "jack")
            assert s.get(Address, ("jack", "h3")) is a2
            s.commit()
        assert read_rows(addresses) == [("jack", "h1"), ("jack", "h3")]
    finally:
        reg.dispose()


def _sqlite_users_with_addresses(fk_args):
    """Users and addresses keyed by (username, email) on SQLite's default connection
    (foreign keys not enforced: nothing in the database cascades), with one user "ed"
    holding addresses h1 and h2; (engine, statements sent, users, addresses, registry,
    session, the user, its second address)."""
    engine = create_engine("sqlite://")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cu, st, *_a: statements.append(st))
    md = MetaData()
    users = Table("pon_users", md, Column("username", String(20), primary_key=True))
    addresses = Table("pon_addresses", md,
                      Column("username", String(20),
                             ForeignKey("pon_users.username", **fk_args), primary_key=True),
                      Column("email", String(20), primary_key=True))

    class User:
        pass

    class Address:
        pass

    reg = registry()
    reg.map_imperatively(User, users, properties={
        "addresses": relationship(Address, order_by=addresses.c.email)})
    reg.map_imperatively(Address, addresses)
    md.create_all(engine)
    s = Session(engine)
    u = User()
    u.username = "ed"
    a1, a2 = Address(), Address()
    a1.email, a2.email = "h1", "h2"
    u.addresses = [a1, a2]
    s.add(u)
    s.commit()
    return engine, statements, users, addresses, reg, s, u, a2


def test_without_a_declared_cascade_the_flush_moves_the_children():
    # passive_updates=True but no ON UPDATE CASCADE declared, on SQLite's default
    # connection: nothing in the database moves the children, so the flush UPDATEs
    # them itself (they would be left pointing at the old key).  (An enforcing
    # database refuses the parent's change here.)
    engine, statements, users, addresses, reg, s, u, a2 = _sqlite_users_with_addresses({})
    try:
        with s:
            assert [a.username for a in u.addresses] == ["ed", "ed"]
            statements.clear()
            u.username = "jack"
            a2.email = "h3"
            s.commit()
            assert len([st for st in statements if st.startswith("UPDATE")]) == 3
        with engine.connect() as conn:
            assert conn.execute(addresses.select().order_by(addresses.c.email)).all() == \
                [("jack", "h1"), ("jack", "h3")]
            assert conn.execute(users.select()).all() == [("jack",)]
    finally:
        reg.dispose()


def test_sqlite_is_not_trusted_with_a_declared_cascade():
    # ON UPDATE CASCADE declared, on SQLite's default connection (foreign keys not
    # enforced: nothing cascades): the flush still moves the children itself
    engine, _st, _users, addresses, reg, s, u, a2 = _sqlite_users_with_addresses(
        {"onupdate": "CASCADE"})
    try:
        with s:
            assert len(u.addresses) == 2  # (loaded: the flush moves the members it holds)
            u.username = "jack"
            a2.email = "h3"
            s.commit()
            assert [(a.username, a.email) for a in u.addresses] == [("jack", "h1"),
                                                                    ("jack", "h3")]
        with engine.connect() as conn:
            assert conn.execute(addresses.select().order_by(addresses.c.email)).all() == \
                [("jack", "h1"), ("jack", "h3")]
    finally:
        reg.dispose()


@pytest.mark.parametrize("cascade", [True, False], ids=["declared_cascade", "no_cascade"])
def test_a_joined_subclass_key_change_with_its_own_change(engine, backend_name, cascade):
    # the base table's key changes and the subclass table's columns change in one flush:
    # where the database cascades the key into the subclass row, that row is found by
    # the new key (StaleDataError); on SQLite's default connection (nothing enforced,
    # nothing cascades) by the old one, as before
    if backend_name == "sqlite":
        engine = create_engine("sqlite://")
    elif not cascade:
        pytest.skip("an enforcing database refuses the base key change without a cascade")
    fk_args = {"onupdate": "CASCADE"} if cascade else {}
    md = MetaData()
    person = Table("pjk_person", md, Column("name", String(20), primary_key=True),
                   Column("type", String(20), nullable=False))
    engineer = Table("pjk_engineer", md,
                     Column("name", String(20), ForeignKey("pjk_person.name", **fk_args),
                            primary_key=True),
                     Column("language", String(20)))

    class Person:
        pass

    class Engineer(Person):
        pass

    reg = registry()
    reg.map_imperatively(Person, person, polymorphic_on=person.c.type,
                         polymorphic_identity="person")
    reg.map_imperatively(Engineer, engineer, inherits=Person,
                         polymorphic_identity="engineer")
    md.create_all(engine)
    try:
        with Session(engine) as s:
            e = Engineer()
            e.name, e.language = "dilbert", "java"
            s.add(e)
            s.commit()
            e.name, e.language = "wally", "c++"
            s.commit()
            assert (e.name, e.language) == ("wally", "c++")
            e.name = "dogbert"
            s.commit()
        with engine.connect() as conn:
            assert conn.execute(engineer.select()).all() == [("dogbert", "c++")]
            assert conn.execute(person.select()).all() == [("dogbert", "engineer")]
    finally:
        reg.dispose()
        md.drop_all(engine)
