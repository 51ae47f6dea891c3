"""synchronize_session="evaluate" decides in Python which of the session's objects
a criteria UPDATE/DELETE changed; it must agree with the database's WHERE or say
it can't tell (and expire), never leave an object holding a value its row does
not hold.  The row values are read back on a separate connection after commit.

Cases: SQL's NULL logic (NOT IN, NOT over OR), values the database converts
(an integer column compared with a string), collations (case-insensitive on MySQL,
locale order on PostgreSQL), an unflushed change of a criteria attribute, and
deferred columns the criteria don't read (no reason to give up on the object)."""

import pytest
from sqlalchemy import Column, Integer, String, delete, not_, or_, update

from datamapper import deferred


def _model(Base, engine, make_session, with_deferred):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        age = Column(Integer)
        counter = Column(Integer, onupdate=lambda: 7)
        if with_deferred:
            bio = deferred(Column(String(20)))
        else:
            bio = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name=None, age=1, bio="x"), User(id=2, name="a", age=2),
               User(id=3, name="B", age=3), User(id=4, name="b", age=4)])
    s.commit()
    s.close()
    return User


@pytest.fixture
def User(Base, engine, make_session):
    return _model(Base, engine, make_session, False)


@pytest.fixture
def UserWithDeferred(Base, engine, make_session):
    return _model(Base, engine, make_session, True)


def _db_ages(read_rows):
    return [r[0] for r in read_rows("SELECT age FROM users ORDER BY id")]


def _update(session, User, crit, style):
    if style == "query":
        session.query(User).filter(crit).update({"age": 99}, synchronize_session="evaluate")
    else:
        session.execute(update(User).where(crit).values(age=99)
                        .execution_options(synchronize_session="evaluate"))


CRITERIA = {
    "not_in_null": lambda U: U.name.not_in(["a"]),
    "not_or_null": lambda U: not_(or_(U.name == "a", U.age == 50)),
    "in_with_null_item": lambda U: not_(U.name.in_(["a", None])),
    "ne_null": lambda U: U.name != "a",
    "case": lambda U: U.name == "A",
    "case_in": lambda U: U.name.in_(["A", "zz"]),
    "order": lambda U: U.name < "b",
    "and_null": lambda U: not_((U.name == "x") & (U.age == 1)),
}


@pytest.mark.parametrize("style", ["query", "execute"])
@pytest.mark.parametrize("case", sorted(CRITERIA))
def test_objects_agree_with_the_rows_the_update_changed(User, session, read_rows, case, style):
    objs = session.query(User).order_by(User.id).all()
    _update(session, User, CRITERIA[case](User), style)
    ages = [o.age for o in objs]
    session.commit()
    assert ages == _db_ages(read_rows)


@pytest.mark.backends("sqlite", "mysql")
@pytest.mark.parametrize("style", ["query", "execute"])
def test_integer_column_compared_with_a_string(User, session, read_rows, style):
    objs = session.query(User).order_by(User.id).all()
    _update(session, User, User.id == "2", style)
    ages = [o.age for o in objs]
    session.commit()
    assert ages == _db_ages(read_rows) == [1, 99, 3, 4]


@pytest.mark.parametrize("style", ["query", "execute"])
def test_unflushed_change_of_a_criteria_attribute_tests_the_row_value(User, session,
                                                                      read_rows, style):
    objs = session.query(User).order_by(User.id).all()
    objs[1].name = "renamed"  # the row still says "a"
    with session.no_autoflush:
        _update(session, User, User.name == "a", style)
    assert objs[1].age == 99
    session.commit()
    assert _db_ages(read_rows) == [1, 99, 3, 4]


def test_onupdate_column_expires_on_objects_that_could_not_be_tested(User, session):
    objs = session.query(User).order_by(User.id).all()
    session.expire(objs[1], ["name"])
    session.execute(update(User).where(User.name == "a").values(age=99)
                    .execution_options(synchronize_session="evaluate"))
    assert (objs[1].age, objs[1].counter) == (99, 7)


def test_deferred_column_outside_the_criteria_does_not_stop_evaluation(UserWithDeferred, session,
                                                                       sql_log):
    User = UserWithDeferred
    objs = session.query(User).order_by(User.id).all()
    _update(session, User, User.age > 2, "execute")
    sql_log.clear()
    assert [o.age for o in objs] == [1, 2, 99, 99]
    assert sql_log.statements == []


@pytest.mark.parametrize("case", ["not_in_null", "not_or_null", "case", "order"])
def test_delete_removes_exactly_the_objects_whose_rows_went(User, session, read_rows, case):
    from datamapper import exc, inspect

    objs = session.query(User).order_by(User.id).all()
    ids = [o.id for o in objs]
    session.execute(delete(User).where(CRITERIA[case](User))
                    .execution_options(synchronize_session="evaluate"))
    kept = [o in session and not inspect(o).expired_attributes for o in objs]
    gone = [o not in session for o in objs]
    session.commit()
    left = {r[0] for r in read_rows("SELECT id FROM users")}
    for o, ident, k, g in zip(objs, ids, kept, gone, strict=True):
        if ident in left:
            assert not g
        else:
            assert not k  # removed, or expired so that reading it finds out
            if not g:
                with pytest.raises(exc.ObjectDeletedError):
                    o.age  # noqa: B018
