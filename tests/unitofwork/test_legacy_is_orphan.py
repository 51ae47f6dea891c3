"""Mapper(legacy_is_orphan=): an object held by two delete-orphan parents is an
orphan once either lets go of it (default), or only once both have (True).
A new orphan leaves the session at once; what is flushed is what the rows show."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, select

from datamapper import exc, inspect, registry, relationship


@pytest.fixture
def world(metadata, engine, session):
    def make(legacy):
        reg = registry(metadata=metadata)
        Table("lo_accounts", metadata, Column("id", Integer, primary_key=True))
        Table("lo_reps", metadata, Column("id", Integer, primary_key=True))
        Table("lo_customers", metadata, Column("id", Integer, primary_key=True),
              Column("name", String(20)),
              Column("account_id", ForeignKey("lo_accounts.id")),
              Column("rep_id", ForeignKey("lo_reps.id")))

        class Customer:
            pass

        class Account:
            pass

        class Rep:
            pass

        reg.map_imperatively(Customer, metadata.tables["lo_customers"],
                             legacy_is_orphan=legacy)
        reg.map_imperatively(Account, metadata.tables["lo_accounts"], properties={
            "customers": relationship(Customer, cascade="all, delete-orphan",
                                      backref="account")})
        reg.map_imperatively(Rep, metadata.tables["lo_reps"], properties={
            "customers": relationship(Customer, cascade="all, delete-orphan",
                                      backref="rep")})
        metadata.create_all(engine)
        a, r = Account(), Rep()
        a.id, r.id = 1, 1
        session.add_all([a, r])
        session.commit()
        c = Customer()
        c.id, c.name = 1, "jane"
        a.customers.append(c)
        r.customers.append(c)
        assert c in session
        return Customer, a, r, c, metadata.tables["lo_customers"]

    return make


@pytest.mark.parametrize("autoflush", [False, True])
def test_default_an_orphan_of_either_parent_is_not_kept(world, session, autoflush):
    session.autoflush = autoflush
    Customer, a, r, c, t = world(False)
    a.customers.remove(c)
    if not autoflush:
        assert c not in session  # never written: leaves the session at once
        with pytest.warns(exc.SAWarning, match="not in session"):  # Rep still lists it
            session.commit()
    else:
        session.commit()
    assert session.execute(select(t)).all() == []


@pytest.mark.parametrize("autoflush", [False, True])
def test_legacy_an_orphan_only_once_both_parents_let_go(world, session, autoflush):
    session.autoflush = autoflush
    Customer, a, r, c, t = world(True)
    a.customers.remove(c)
    assert c in session
    session.commit()
    assert session.execute(select(t.c.id, t.c.account_id, t.c.rep_id)).all() == [(1, None, 1)]
    r.customers.remove(c)
    session.commit()
    assert session.execute(select(t)).all() == []


@pytest.mark.parametrize("legacy", [False, True])
def test_is_orphan_reads_the_parents(world, legacy):
    Customer, a, r, c, _t = world(legacy)
    mapper = inspect(Customer)
    assert not mapper._is_orphan(inspect(c))
    c.account = None
    assert mapper._is_orphan(inspect(c)) is (not legacy)
    c.rep = None
    assert mapper._is_orphan(inspect(c))
