"""A criteria UPDATE with synchronize_session="evaluate" and objects of the session
whose criteria can't be tested in Python (an attribute the test reads, or any column,
is expired): what the UPDATE sets is expired on them, so that reading it gives the
row's new value, never the value from before the UPDATE."""

import pytest
from sqlalchemy import Column, Integer, String, update


@pytest.fixture
def User(Base, engine, make_session):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        age = Column("age_int", Integer)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="john", age=25), User(id=2, name="jack", age=47),
               User(id=3, name="jill", age=29), User(id=4, name="jane", age=37)])
    s.commit()
    s.close()
    return User


def _run(session, User, style, value, filtered):
    if style == "query":
        q = session.query(User)
        if filtered:
            q = q.filter(User.name.is_not(None))
        q.update({"age": value}, synchronize_session="evaluate")
    else:
        stmt = update(User).values(age=value)
        if filtered:
            stmt = stmt.where(User.name.is_not(None))
        session.execute(stmt.execution_options(synchronize_session="evaluate"))


@pytest.mark.parametrize("style", ["query", "execute"])
@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("expression", [False, True])
def test_object_with_an_expired_attribute_reads_the_updated_value(
        User, session, sql_log, style, filtered, expression):
    john, jack, jill, jane = session.query(User).order_by(User.id).all()
    session.expire(john)
    session.expire(jane, ["name"])  # age still loaded: 37
    _run(session, User, style, User.age + 10 if expression else 99, filtered)
    if not expression:
        sql_log.clear()
        assert jack.age == 99
        assert sql_log.statements == []  # evaluated in Python
    assert (john.age, jack.age, jill.age, jane.age) == (
        (99, 99, 99, 99) if not expression else (35, 57, 39, 47))


def test_unflushed_change_of_an_expired_object_is_kept(User, session):
    jane = session.get(User, 4)
    session.expire(jane, ["name"])
    jane.age = 1
    with session.no_autoflush:
        session.query(User).update({"age": 50}, synchronize_session="evaluate")
    assert jane.age == 1
    session.commit()
    assert jane.age == 1


@pytest.mark.parametrize("style", ["query", "execute"])
def test_delete_expires_objects_it_could_not_test(User, session, style):
    from sqlalchemy import delete, or_

    from datamapper import exc, inspect

    john, jack, jill, jane = session.query(User).order_by(User.id).all()
    session.expire(john, ["age"])
    session.expire(jill, ["age"])
    crit = or_(User.age == 25, User.age == 37)
    if style == "query":
        session.query(User).filter(crit).delete(synchronize_session="evaluate")
    else:
        session.execute(delete(User).where(crit)
                        .execution_options(synchronize_session="evaluate"))
    assert jane not in session  # tested in Python: deleted
    assert jill in session and inspect(jill).expired
    assert jill.name == "jill"  # its row is still there
    with pytest.raises(exc.ObjectDeletedError):
        john.name  # noqa: B018 - its row was deleted
