"""``Address.user == some_user`` and ``!=``: the relationship's join condition with
the target object's column values in place of the target's columns.

- the values are read when the statement runs (an object given its key after the
  filter was built is compared by that key);
- a value that is None is sent as a bound NULL (matching no row) with a warning,
  not turned into IS NULL (``Address.user == None`` is the way to ask for IS NULL);
- a value that was never set, or expired on a detached object, can't be read: the
  statement fails naming the column and the object;
- extra criteria of a custom primaryjoin apply too;
- ``!=`` also matches rows whose foreign key is NULL (they are not related to
  that object either)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, and_, select
from sqlalchemy.exc import SAWarning, StatementError

from datamapper import relationship


@pytest.fixture
def M(Base, engine, make_session):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))
        email = Column(String(30))
        user = relationship(User)
        # related only when the address's email is the user's name
        named_user = relationship(
            User, primaryjoin=lambda: and_(User.id == Address.user_id,
                                           User.name == Address.email),
            viewonly=True)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="jack"), User(id=2, name="ed")])
    s.flush()
    s.add_all([Address(id=1, user_id=1, email="jack"), Address(id=2, user_id=1, email="x"),
               Address(id=3, user_id=2, email="ed"), Address(id=4, user_id=None, email="n")])
    s.commit()
    s.close()
    return User, Address


def _ids(session, Address, crit):
    return sorted(a.id for a in session.query(Address).filter(crit))


def test_equals_and_not_equals_an_object(M, session):
    User, Address = M
    jack = session.get(User, 1)
    assert _ids(session, Address, Address.user == jack) == [1, 2]
    # the address without a user is not related to jack either
    assert _ids(session, Address, Address.user != jack) == [3, 4]
    assert _ids(session, Address, ~(Address.user == jack)) == [3]  # SQL NOT: NULL stays out
    assert _ids(session, Address, Address.user == None) == [4]  # noqa: E711
    assert _ids(session, Address, Address.user != None) == [1, 2, 3]  # noqa: E711


def test_extra_criteria_of_a_custom_primaryjoin_apply(M, session):
    User, Address = M
    jack = session.get(User, 1)
    assert _ids(session, Address, Address.named_user == jack) == [1]
    assert _ids(session, Address, Address.named_user != jack) == [2, 3, 4]
    assert "users.name" not in str(Address.named_user == jack)  # the object's value
    assert sorted(a.id for a in session.scalars(
        select(Address).where(Address.named_user == User(id=2, name="ed")))) == [3]


def test_key_given_after_the_filter_was_built_is_used(M, session):
    User, Address = M
    u = User()
    q = session.query(Address).filter(Address.user == u)
    u.id = 2
    assert [a.id for a in q] == [3]
    u.id = 1
    assert sorted(a.id for a in q) == [1, 2]


def test_none_value_is_a_bound_null_with_a_warning(M, session):
    User, Address = M
    with pytest.warns(SAWarning, match="Got None for value of column users.id"):
        assert _ids(session, Address, Address.user == User(id=None)) == []
    with pytest.warns(SAWarning, match="Got None for value of column users.id"):
        assert _ids(session, Address, Address.user != User(id=None)) == [4]


def test_value_never_set_fails_naming_column_and_object(M, session):
    User, Address = M
    q = session.query(Address).filter(Address.user == User())
    with pytest.raises(StatementError, match=r"Can't resolve value for column users.id on "
                                             r"object <User at 0x[0-9a-f]+>; no value has "
                                             r"been set"):
        q.all()


def test_value_deleted_from_a_transient_object_fails(M, session):
    # the value the object had when the filter was built is gone (del): it is not
    # compared by it (the stale value matched the rows of that user)
    User, Address = M
    u = User(id=1)
    q = session.query(Address).filter(Address.user == u)
    del u.id
    with pytest.raises(StatementError, match=r"Can't resolve value for column users.id on "
                                             r"object <User at 0x[0-9a-f]+>; no value has "
                                             r"been set"):
        q.all()
    u.id = 2
    assert [a.id for a in q] == [3]


def test_detached_object_with_expired_value_fails(M, session):
    User, Address = M
    jack = session.get(User, 1)
    session.expire(jack, ["name"])
    session.expunge(jack)
    q = session.query(Address).filter(Address.named_user == jack)
    with pytest.raises(StatementError, match=r"users.name on object <User at .*the object is "
                                             r"detached and the value was expired"):
        q.all()


def test_persistent_object_loads_an_expired_value(M, session, sql_log):
    User, Address = M
    jack = session.get(User, 1)
    session.expire(jack)
    sql_log.clear()
    assert _ids(session, Address, Address.named_user == jack) == [1]
    assert any("FROM users" in s for s in sql_log.statements)


def test_comparing_to_sql_null_is_comparing_to_none(M, session):
    from sqlalchemy import null

    User, Address = M
    assert _ids(session, Address, Address.user == null()) == [4]
    assert _ids(session, Address, Address.user != null()) == [1, 2, 3]
    assert [a.id for a in session.query(Address).filter_by(user=null())] == [4]


def test_relationship_of_an_alias_compares_on_the_alias(M, session):
    from datamapper import aliased

    User, Address = M
    a1 = aliased(Address)
    jack = session.get(User, 1)
    assert str(a1.user == None) == "addresses_1.user_id IS NULL"  # noqa: E711
    assert str(a1.user != None) == "addresses_1.user_id IS NOT NULL"  # noqa: E711
    assert sorted(a.id for a in session.query(a1).filter(a1.user == jack)) == [1, 2]
    assert sorted(a.id for a in session.query(a1).filter(a1.user != jack)) == [3, 4]


def test_operators_other_than_equality_are_refused(M):
    from datamapper.exc import UnsupportedRelationshipOperator

    User, Address = M
    for op in (Address.user.like, Address.user.__gt__, Address.user.in_):
        with pytest.raises(UnsupportedRelationshipOperator, match="Address.user"):
            op(User(id=5))
    with pytest.raises(NotImplementedError):  # as Core refuses operators a type lacks
        Address.user.ilike("x")


def test_comparison_uses_the_value_known_when_built_if_the_object_detaches_expired(
        metadata, engine):
    from sqlalchemy import Column, ForeignKey, Integer, String

    from datamapper import Session, declarative_base, relationship

    Base = declarative_base(metadata=metadata)

    class U(Base):
        __tablename__ = "cmp_u"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class A(Base):
        __tablename__ = "cmp_a"
        id = Column(Integer, primary_key=True)
        u_id = Column(Integer, ForeignKey("cmp_u.id"))
        u = relationship(U)

    metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        u = U(id=1, name="ed")
        s.add(A(id=1, u=u))
        s.commit()
        q = s.query(A).filter(A.u == u)
        s.expire(u)
        s.expunge(u)
        assert [a.id for a in q.all()] == [1]


@pytest.mark.parametrize("expire_keys", [None, ["id"]], ids=["all", "key"])
def test_key_a_flush_gave_is_used_after_expire_and_expunge(M, session, sql_log, expire_keys):
    """The filter is built while the object has no key; a flush gives it one; the object
    is then expired and detached: the statement compares by the key it had when expired."""
    User, Address = M
    u = User(name="new")
    q = session.query(Address).filter(Address.user == u)
    u.id = 3  # (the fixture's explicit keys leave the servers' sequences at 1)
    session.add(u)
    session.add(Address(id=5, user=u, email="e"))
    session.flush()
    session.expire(u, expire_keys)
    session.expunge(u)
    sql_log.clear()
    assert [a.id for a in q] == [5]
    assert not any("FROM users" in s for s in sql_log.statements)  # nothing to load


def test_value_expired_before_the_filter_was_built_is_still_unknown(M, session):
    User, Address = M
    jack = session.get(User, 1)
    session.expire(jack)
    q = session.query(Address).filter(Address.user == jack)
    session.expunge(jack)
    with pytest.raises(StatementError, match="the object is detached and the value was expired"):
        q.all()
