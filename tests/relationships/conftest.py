"""Fixtures for relationship tests: a fresh declarative base per test, sessions
closed at teardown, and a User/Address model with a backref."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import declarative_base, relationship


@pytest.fixture
def Base(metadata):
    return declarative_base(metadata=metadata)



@pytest.fixture
def models(Base, engine):
    """User 1-* Address with backref ``Address.user``."""

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        addresses = relationship("Address", backref="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    Base.metadata.create_all(engine)
    return User, Address
