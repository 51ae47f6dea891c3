"""refresh(obj) refreshes ``obj`` only.  The relationships it loads eagerly are set
again, but the related objects already in the session keep their state: their
unflushed changes stay (they were overwritten with the database's values, and the
next flush lost them) and a many-to-one whose target is in the identity map costs
no SELECT with a selectin or subquery loader (it issued one), as with lazy="immediate".
What the database sees."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, text

from datamapper import relationship


def _models(Base, engine, lazy):
    class User(Base):
        __tablename__ = "rk_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        addresses = relationship("Address", back_populates="user", lazy=lazy,
                                 order_by="Address.id")

    class Address(Base):
        __tablename__ = "rk_addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("rk_users.id"))
        email = Column(String(30))
        user = relationship(User, back_populates="addresses", lazy=lazy)

    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(User.__table__.insert(), [{"id": 1, "name": "u1"}])
        c.execute(Address.__table__.insert(), [{"id": 1, "user_id": 1, "email": "a"},
                                               {"id": 2, "user_id": 1, "email": "b"}])
    return User, Address


LAZIES = ["selectin", "subquery", "joined", "immediate"]


@pytest.mark.parametrize("lazy", LAZIES)
def test_refresh_of_child_keeps_unflushed_change_of_its_parent(Base, engine, make_session,
                                                               read_rows, lazy):
    User, Address = _models(Base, engine, lazy)
    s = make_session(autoflush=False)
    u = s.get(User, 1)
    a1 = u.addresses[0]
    u.name = "changed"
    s.refresh(a1)
    assert a1.user is u
    assert u.name == "changed"
    s.commit()
    assert read_rows("SELECT name FROM rk_users") == [("changed",)]


@pytest.mark.parametrize("lazy", LAZIES)
def test_refresh_of_parent_keeps_unflushed_change_of_its_children(Base, engine, make_session,
                                                                  read_rows, lazy):
    User, Address = _models(Base, engine, lazy)
    s = make_session(autoflush=False)
    u = s.get(User, 1)
    a1, a2 = u.addresses
    a2.email = "changed"
    s.execute(text("UPDATE rk_users SET name = 'outside'"))
    s.refresh(u)
    assert u.name == "outside"
    assert u.addresses == [a1, a2]
    assert a2.email == "changed"
    s.commit()
    assert read_rows("SELECT id, email FROM rk_addresses ORDER BY id") == [(1, "a"),
                                                                           (2, "changed")]


@pytest.mark.parametrize("lazy", LAZIES)
def test_refresh_leaves_related_rows_changed_behind_as_loaded(Base, engine, make_session,
                                                              lazy):
    User, Address = _models(Base, engine, lazy)
    s = make_session()
    u = s.get(User, 1)
    a1, a2 = u.addresses
    s.execute(text("UPDATE rk_users SET name = 'outside'"))
    s.execute(text("UPDATE rk_addresses SET email = 'outside'"))
    s.refresh(a1)
    assert a1.email == "outside"
    assert u.name == "u1"  # not refreshed: refresh(a1) is about a1
    assert a2.email == "b"


@pytest.mark.parametrize("lazy", ["selectin", "subquery", "immediate"])
def test_refresh_finds_many_to_one_in_identity_map_without_sql(Base, engine, make_session,
                                                               sql_log, lazy):
    User, Address = _models(Base, engine, lazy)
    s = make_session()
    u = s.get(User, 1)
    a1 = u.addresses[0]
    sql_log.clear()
    s.refresh(a1)
    # the address's row only: its user is in the session (and keeps its loaded
    # addresses collection)
    assert [st.split("FROM")[1].split()[0] for st in sql_log.matching("SELECT")] == \
        ["rk_addresses"]
    assert a1.user is u
