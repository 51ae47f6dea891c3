"""expire()/refresh() along refresh-expire pass by *pending* members of a collection
(they have no row to load again and stay pending), unless the relationship deletes
orphans: then the pending member leaves the session with its parent's state."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, declarative_base, relationship


def _models(metadata, engine, cascade):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        addresses = relationship("Address", cascade=cascade)

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        email = Column(String(30))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(User(id=1, name="ed"))
        s.commit()
    return User, Address


@pytest.mark.parametrize("how", ["expire", "refresh"])
@pytest.mark.parametrize("orphans", [False, True])
def test_pending_member_reached_by_expire_or_refresh(metadata, engine, read_rows, how, orphans):
    cascade = "save-update, refresh-expire" + (", delete-orphan" if orphans else "")
    User, Address = _models(metadata, engine, cascade)
    with Session(engine, autoflush=False) as s:
        u = s.get(User, 1)
        a = Address(id=5, email="x")
        u.addresses.append(a)
        getattr(s, how)(u)
        assert (a in s) is (not orphans)
        assert a not in u.addresses
        s.commit()
    assert read_rows(Address.__table__) == ([] if orphans else [(5, None, "x")])
