"""A Query inside a SQL expression stands for its SELECT (``in_``, ``exists``,
comparison with ``scalar_subquery()``), as it does in SQLAlchemy."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, declarative_base


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=1, name="a"), User(id=2, name="b"), User(id=3, name="c"),
                   Address(id=1, user_id=1), Address(id=2, user_id=3)])
        s.commit()
    return User, Address


def test_query_of_a_column_as_the_right_side_of_in(models, engine):
    User, Address = models
    with Session(engine) as s:
        inner = s.query(Address.user_id)
        got = s.query(User).filter(User.id.in_(inner)).order_by(User.id).all()
        assert [u.id for u in got] == [1, 3]
        assert [u.id for u in s.query(User).filter(~User.id.in_(inner))] == [2]


def test_query_in_exists_and_as_scalar_subquery(models, engine):
    User, Address = models
    with Session(engine) as s:
        has = s.query(User).filter(s.query(Address).filter(
            Address.user_id == User.id).exists()).order_by(User.id).all()
        assert [u.id for u in has] == [1, 3]
        top = s.query(Address.user_id).order_by(Address.user_id.desc()).limit(1)
        assert s.query(User).filter(User.id == top.scalar_subquery()).one().id == 3
