"""Fixtures shared by the session tests: a fresh declarative model per test
and sessions that are always closed before the engine drops its tables."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import declarative_base, relationship


@pytest.fixture
def Base(metadata):
    return declarative_base(metadata=metadata)


@pytest.fixture
def User(Base, engine):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        note = Column(String(50))

    Base.metadata.create_all(engine)
    return User


@pytest.fixture
def parent_child_models(Base, engine):
    """Parent 1-* Child with backref ``Child.parent`` and cascade all, delete-orphan."""
    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        children = relationship("Child", backref="parent", cascade="all, delete-orphan",
                                order_by="Child.id")

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        code = Column(String(20))
        parent_id = Column(Integer, ForeignKey("parents.id"))

    Base.metadata.create_all(engine)
    return Parent, Child
