"""merge() touches only what the source has loaded, and a ``lazy="raise"`` relationship
of the session's copy does not stop merge from replacing a collection the source holds."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, declarative_base, relationship
from datamapper.exc import InvalidRequestError


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        addresses = relationship("Address", lazy="raise", cascade="all", back_populates="user")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        email = Column(String(30))
        user = relationship("User", lazy="raise", back_populates="addresses")

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(User(id=1, name="ed", addresses=[Address(id=1, email="a")]))
        s.commit()
    return User, Address


def test_merge_of_a_copy_without_loaded_relationships_loads_nothing(models, engine, sql_log):
    User, Address = models
    detached = User(id=1, name="edward")  # addresses never loaded on the source
    with Session(engine) as s:
        sql_log.clear()
        merged = s.merge(detached)
        assert merged.name == "edward"
        assert len(sql_log.matching("SELECT")) == 1  # the user row only
        with pytest.raises(InvalidRequestError):
            merged.addresses  # noqa: B018 - still lazy="raise" outside merge
        s.commit()


def test_merge_replaces_a_collection_the_copy_has_not_loaded(models, engine, read_rows):
    User, Address = models
    with Session(engine) as s:
        source = User(id=1, name="ed")
        source.addresses = [Address(id=2, email="b")]
        merged = s.merge(source)
        assert [a.id for a in merged.addresses] == [2]
        s.commit()
    assert read_rows(Address.__table__) == [(1, None, "a"), (2, 1, "b")]
