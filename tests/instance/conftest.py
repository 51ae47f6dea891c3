"""Fixtures shared by the session tests: a fresh declarative model per test
and sessions that are always closed before the engine drops its tables."""

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import declarative_base


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

