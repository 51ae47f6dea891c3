"""passive_updates=True (the default) with ON UPDATE CASCADE: when a referenced key
changes, the database updates the referring rows itself; the objects in the session
that refer to the row are given the new key in memory as well (no UPDATE of theirs),
whether their reference is loaded or not."""

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, String, Table

from datamapper import inspect, registry, relationship


@pytest.fixture
def models(engine, backend_name):
    if backend_name == "sqlite":
        pytest.skip("the test's SQLite connections do not enforce foreign keys")
    md = MetaData()
    users = Table("pkm_users", md, Column("username", String(20), primary_key=True))
    addresses = Table("pkm_addresses", md, Column("email", String(20), primary_key=True),
                      Column("username", String(20),
                             ForeignKey("pkm_users.username", onupdate="CASCADE")))

    class User:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    class Address(User):
        pass

    reg = registry()
    reg.map_imperatively(User, users)
    reg.map_imperatively(Address, addresses, properties={"user": relationship(User)})
    md.create_all(engine)
    yield users, addresses, User, Address
    reg.dispose()


@pytest.mark.parametrize("loaded", [True, False], ids=["reference_loaded", "fk_only"])
def test_referrers_get_new_key_in_memory(models, session, read_rows, sql_log, loaded):
    users, addresses, User, Address = models
    u = User(username="jack")
    a1, a2 = Address(email="a1", user=u), Address(email="a2", user=u)
    other = Address(email="b", username=None)
    session.add_all([a1, a2, other])
    session.commit()
    if not loaded:
        session.expire(a1, ["user"])
        session.expire(a2, ["user"])
        assert "user" not in a1.__dict__
    else:
        assert a1.user is u
    assert a1.username == "jack"
    sql_log.clear()
    u.username = "ed"
    session.flush()
    assert sql_log.matching("UPDATE") and len(sql_log.matching("UPDATE")) == 1
    assert (a1.username, a2.username, other.username) == ("ed", "ed", None)
    session.flush()
    assert len(sql_log.matching("UPDATE")) == 1  # nothing left to write
    session.commit()
    assert read_rows(addresses) == [("a1", "ed"), ("a2", "ed"), ("b", None)]


@pytest.fixture
def keyed_models(engine, backend_name):
    """The referring row's primary key includes the cascaded foreign key."""
    if backend_name == "sqlite":
        pytest.skip("the test's SQLite connections do not enforce foreign keys")
    md = MetaData()
    users = Table("pkk_users", md, Column("username", String(20), primary_key=True))
    addresses = Table("pkk_addresses", md,
                      Column("username", String(20),
                             ForeignKey("pkk_users.username", onupdate="CASCADE"),
                             primary_key=True),
                      Column("email", String(20), primary_key=True),
                      Column("etc", String(20)))

    class User:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    class Address(User):
        pass

    reg = registry()
    reg.map_imperatively(User, users)
    reg.map_imperatively(Address, addresses, properties={"user": relationship(User)})
    md.create_all(engine)
    yield users, addresses, User, Address
    reg.dispose()


def test_referrer_whose_key_holds_the_foreign_key_is_refiled(keyed_models, session,
                                                            read_rows):
    users, addresses, User, Address = keyed_models
    u = User(username="jack")
    a1 = Address(email="a1", user=u)
    session.add(a1)
    session.commit()
    assert a1.user is u
    u.username = "ed"
    session.flush()
    assert inspect(a1).identity == ("ed", "a1")
    assert session.get(Address, ("ed", "a1")) is a1
    session.expire(a1)
    a1.etc = "x"
    session.commit()
    assert read_rows(addresses) == [("ed", "a1", "x")]


def test_rollback_puts_the_refiled_referrer_back(keyed_models, session, read_rows):
    users, addresses, User, Address = keyed_models
    u = User(username="jack")
    a1 = Address(email="a1", user=u)
    session.add(a1)
    session.commit()
    assert a1.user is u
    u.username = "ed"
    session.flush()
    session.rollback()
    assert inspect(a1).identity == ("jack", "a1")
    assert (a1.username, u.username) == ("jack", "jack")
    assert read_rows(addresses) == [("jack", "a1", None)]
