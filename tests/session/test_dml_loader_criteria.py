"""ORM UPDATE/DELETE statements given with_loader_criteria() in their options() change
only the rows the criteria allow, and the session's objects follow what the database
did (each synchronize_session strategy)."""

import pytest
from sqlalchemy import Column, Integer, String, delete, select, update

from datamapper import with_loader_criteria


@pytest.fixture
def User(Base, engine, make_session):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        age = Column(Integer)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="john", age=25), User(id=2, name="jack", age=47),
               User(id=3, name="jill", age=29), User(id=4, name="jane", age=37)])
    s.commit()
    s.close()
    return User


@pytest.mark.parametrize("sync", ["fetch", "evaluate", False])
def test_update_with_loader_criteria(User, session, read_rows, sync):
    users = session.scalars(select(User).order_by(User.id)).all()
    session.execute(
        update(User).options(with_loader_criteria(User, User.name.in_(["jill", "jane"])))
        .where(User.age > 29).values(age=User.age - 10)
        .execution_options(synchronize_session=sync))
    if sync is not False:
        assert [u.age for u in users] == [25, 47, 29, 27]
    session.commit()
    assert read_rows("SELECT age FROM users ORDER BY id") == [(25,), (47,), (29,), (27,)]


@pytest.mark.parametrize("sync", ["fetch", "evaluate"])
def test_delete_with_loader_criteria(User, session, read_rows, sync):
    users = session.scalars(select(User).order_by(User.id)).all()
    session.execute(
        delete(User).options(with_loader_criteria(User, User.name.in_(["jill", "jane"])))
        .where(User.age > 29).execution_options(synchronize_session=sync))
    assert [u in session for u in users] == [True, True, True, False]
    session.commit()
    assert read_rows("SELECT id FROM users ORDER BY id") == [(1,), (2,), (3,)]
