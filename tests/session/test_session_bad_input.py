"""Misuse of the Session raises a named exception and leaves the session
unchanged."""

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import exc, inspect


def snapshot(s):
    return (
        sorted(map(id, s.new)),
        sorted(map(id, s.dirty)),
        sorted(map(id, s.deleted)),
        sorted(s.identity_map.keys(), key=repr),
    )


@pytest.fixture
def populated(session, User):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    u1 = session.get(User, 1)
    u2 = session.get(User, 2)
    u1.name = "a2"
    u3 = User(id=3, name="c")
    session.add(u3)
    keep = [u1, u2, u3]  # a generator fixture keeps these strongly referenced
    yield session
    del keep


def test_add_of_unmapped_object_raises_unmapped_instance_error(populated):
    class Plain:
        pass

    before = snapshot(populated)
    with pytest.raises(exc.UnmappedInstanceError) as err:
        populated.add(Plain())
    assert "Plain" in str(err.value)
    assert isinstance(err.value, exc.InvalidRequestError)
    assert snapshot(populated) == before


def test_add_all_with_one_unmapped_object_raises(populated, User):
    before = snapshot(populated)
    with pytest.raises(exc.UnmappedInstanceError):
        populated.add_all([object()])
    assert snapshot(populated) == before


def test_add_of_object_owned_by_another_session_raises(populated, make_session, User):
    other = make_session()
    foreign = User(id=10, name="x")
    other.add(foreign)
    before = snapshot(populated)
    with pytest.raises(exc.InvalidRequestError) as err:
        populated.add(foreign)
    msg = str(err.value).lower()
    assert "session" in msg and ("another" in msg or "already" in msg)
    assert snapshot(populated) == before
    assert foreign in other and foreign not in populated


def test_delete_of_transient_object_raises(populated, User):
    before = snapshot(populated)
    with pytest.raises(exc.InvalidRequestError) as err:
        populated.delete(User(id=99, name="t"))
    assert "User" in str(err.value)
    assert snapshot(populated) == before


def test_delete_of_unmapped_object_raises(populated):
    before = snapshot(populated)
    with pytest.raises(exc.UnmappedInstanceError):
        populated.delete(object())
    assert snapshot(populated) == before


def test_expunge_of_object_not_in_session_raises(populated, User):
    before = snapshot(populated)
    with pytest.raises(exc.InvalidRequestError) as err:
        populated.expunge(User(id=50, name="z"))
    assert "User" in str(err.value)
    assert snapshot(populated) == before


def test_expunge_of_object_in_another_session_raises(populated, make_session, User):
    other = make_session()
    foreign = User(id=11, name="x")
    other.add(foreign)
    before = snapshot(populated)
    with pytest.raises(exc.InvalidRequestError):
        populated.expunge(foreign)
    assert snapshot(populated) == before
    assert foreign in other


def test_get_with_too_many_key_values_raises(populated, User, sql_log):
    before = snapshot(populated)
    sql_log.clear()
    with pytest.raises(exc.InvalidRequestError):
        populated.get(User, (1, 2))
    assert sql_log.matching("SELECT") == []
    assert snapshot(populated) == before


def test_get_with_too_few_key_values_for_composite_key_raises(Base, engine, make_session):
    class Pair(Base):
        __tablename__ = "pairs"
        a = Column(Integer, primary_key=True, autoincrement=False)
        b = Column(Integer, primary_key=True, autoincrement=False)
        v = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    with pytest.raises(exc.InvalidRequestError):
        s.get(Pair, 1)
    with pytest.raises(exc.InvalidRequestError):
        s.get(Pair, (1,))


def test_get_with_dict_naming_unknown_key_raises(populated, User, sql_log):
    sql_log.clear()
    with pytest.raises(exc.InvalidRequestError):
        populated.get(User, {"nope": 1})
    assert sql_log.matching("SELECT") == []


def test_get_of_unmapped_class_raises(populated):
    class Plain:
        pass

    with pytest.raises(exc.UnmappedClassError):
        populated.get(Plain, 1)


def test_expired_attribute_of_detached_object_raises_detached_instance_error(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()  # expires u
    session.close()
    assert inspect(u).detached
    with pytest.raises(exc.DetachedInstanceError) as err:
        u.name  # noqa: B018
    msg = str(err.value)
    assert "User" in msg and "name" in msg


def test_values_always_travel_as_bound_parameters(session, User, sql_log, read_rows):
    evil = "x'); DROP TABLE users; --"
    sql_log.clear()
    session.add(User(id=1, name=evil))
    session.commit()
    assert all(evil not in st for st in sql_log.statements)
    assert read_rows(User.__table__) == [(1, evil, None)]
    session.expire_all()
    assert session.get(User, 1).name == evil
    assert session.query(User).filter_by(name=evil).one().id == 1


def test_constructor_with_unmapped_keyword_raises_type_error(User):
    with pytest.raises(TypeError) as err:
        User(name="a", bogus=1)
    assert "User" in str(err.value) and "bogus" in str(err.value)


def test_get_by_an_attribute_instead_of_a_class_raises_argument_error(populated, User, sql_log):
    sql_log.clear()
    with pytest.raises(exc.ArgumentError, match=r"User\.id.*not a mapped class"):
        populated.get(User.id, 5)
    assert sql_log.statements == []


@pytest.mark.parametrize("ident", [None, (None,), {"id": None}])
def test_get_by_an_all_none_key_warns_and_sends_no_sql(populated, User, sql_log, ident):
    sql_log.clear()
    with pytest.warns(exc.SAWarning, match="every primary key value is None"):
        assert populated.get(User, ident) is None
    assert sql_log.statements == []
