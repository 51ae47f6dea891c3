"""passive_updates=False: when a parent's primary key changes, the flush writes the new
key into the foreign keys of its members itself (for databases without ON UPDATE
CASCADE), loading the collection by the key the parent had if it was not loaded."""

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import relationship


@pytest.fixture
def models(Base, engine):
    # no FOREIGN KEY constraint: the database does not cascade, the flush must
    class User(Base):
        __tablename__ = "pu_users"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20))
        addresses = relationship(
            "Address", primaryjoin="User.id == foreign(Address.user_id)",
            passive_updates=False, backref="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "pu_addresses"
        id = Column(Integer, primary_key=True, autoincrement=False)
        user_id = Column(Integer)

    Base.metadata.create_all(engine)
    return User, Address


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "unloaded"])
def test_new_parent_key_goes_into_the_members(models, session, read_rows, loaded):
    User, Address = models
    session.add(User(id=1, name="u", addresses=[Address(id=1), Address(id=2)]))
    session.add(Address(id=3, user_id=9))
    session.commit()
    u = session.get(User, 1)
    if loaded:
        assert len(u.addresses) == 2
    u.id = 2
    session.commit()
    assert [r[:2] for r in read_rows(User.__table__)] == [(2, "u")]
    assert read_rows(Address.__table__) == [(1, 2), (2, 2), (3, 9)]
    assert [a.id for a in u.addresses] == [1, 2]
