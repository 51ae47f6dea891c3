"""Autoflush, no_autoflush, expire, expire_all, refresh, loading expired
attributes."""

import pytest
from sqlalchemy import Column, Integer, String, text

from datamapper import exc, inspect


def _write_behind(engine, sql, **params):
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_query_autoflushes_pending_objects(session, User, sql_log):
    u = User(name="ed")
    session.add(u)
    sql_log.clear()
    found = session.query(User).filter_by(name="ed").first()
    assert found is u
    inserts = sql_log.matching("INSERT")
    selects = sql_log.matching("SELECT")
    assert len(inserts) == 1
    assert sql_log.statements.index(inserts[0]) < sql_log.statements.index(selects[-1])


def test_no_autoflush_block_suppresses_autoflush(session, User, sql_log):
    u = User(name="ed")
    session.add(u)
    sql_log.clear()
    with session.no_autoflush:
        assert session.query(User).filter_by(name="ed").first() is None
    assert sql_log.matching("INSERT") == []
    assert inspect(u).pending
    assert session.query(User).filter_by(name="ed").first() is u


def test_autoflush_false_session_does_not_flush_before_query(make_session, User):
    s = make_session(autoflush=False)
    s.add(User(name="ed"))
    assert s.query(User).all() == []


def test_expire_all_attributes_then_single_select_on_access(engine, User, session, sql_log):
    u = User(id=1, name="a", note="n")
    session.add(u)
    session.commit()
    u.name  # loaded again
    session.expire(u)
    assert {"name", "note"} <= set(inspect(u).expired_attributes)
    sql_log.clear()
    assert u.note == "n"
    assert u.name == "a"
    assert len(sql_log.matching("SELECT")) == 1


def test_expire_discards_pending_change(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    u.name = "b"
    session.expire(u)
    assert u.name == "a"
    assert u not in session.dirty


def test_expire_named_attributes_only(session, User, sql_log):
    u = User(id=1, name="a", note="n")
    session.add(u)
    session.commit()
    u.name
    session.expire(u, ["name"])
    expired = set(inspect(u).expired_attributes)
    assert "name" in expired and "note" not in expired
    sql_log.clear()
    assert u.note == "n"
    assert sql_log.matching("SELECT") == []
    assert u.name == "a"
    assert len(sql_log.matching("SELECT")) == 1


def test_expire_all_expires_every_instance(session, User):
    a, b = User(id=1, name="a"), User(id=2, name="b")
    session.add_all([a, b])
    session.commit()
    a.name, b.name
    session.expire_all()
    assert "name" in inspect(a).expired_attributes
    assert "name" in inspect(b).expired_attributes


def test_expired_attributes_reflect_changes_made_elsewhere(engine, make_session, User):
    s = make_session(expire_on_commit=False)
    u = User(id=1, name="a")
    s.add(u)
    s.commit()
    _write_behind(engine, "UPDATE users SET name = 'z' WHERE id = 1")
    assert u.name == "a"  # not expired: no reload
    s.expire(u)
    assert u.name == "z"


def test_refresh_reloads_immediately(engine, make_session, User, sql_log):
    s = make_session(expire_on_commit=False)
    u = User(id=1, name="a", note="n")
    s.add(u)
    s.commit()
    _write_behind(engine, "UPDATE users SET name = 'z', note = 'm' WHERE id = 1")
    sql_log.clear()
    s.refresh(u)
    assert len(sql_log.matching("SELECT")) == 1
    sql_log.clear()
    assert (u.name, u.note) == ("z", "m")
    assert sql_log.statements == []


def test_refresh_with_attribute_names_reloads_only_those(engine, make_session, User):
    s = make_session(expire_on_commit=False)
    u = User(id=1, name="a", note="n")
    s.add(u)
    s.commit()
    _write_behind(engine, "UPDATE users SET name = 'z', note = 'm' WHERE id = 1")
    s.refresh(u, ["name"])
    assert u.name == "z"
    assert u.note == "n"


def test_refresh_discards_unflushed_changes(make_session, User):
    s = make_session(expire_on_commit=False, autoflush=False)
    u = User(id=1, name="a")
    s.add(u)
    s.commit()
    u.name = "b"
    s.refresh(u)
    assert u.name == "a"
    assert not s.is_modified(u)


def test_load_of_expired_object_whose_row_is_gone_raises_object_deleted(engine, session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    _write_behind(engine, "DELETE FROM users WHERE id = 1")
    with pytest.raises(exc.ObjectDeletedError) as err:
        u.name
    assert "User" in str(err.value)


def test_expire_of_transient_object_raises(session, User):
    with pytest.raises(exc.InvalidRequestError):
        session.expire(User(name="a"))


def test_refresh_of_object_not_in_session_raises(session, User):
    with pytest.raises(exc.InvalidRequestError):
        session.refresh(User(name="a"))


def test_loading_expired_columns_uses_one_select_for_many_columns(
    Base, engine, make_session, sql_log
):
    class Wide(Base):
        __tablename__ = "wide"
        id = Column(Integer, primary_key=True)
        a = Column(String(10))
        b = Column(String(10))
        c = Column(String(10))
        d = Column(Integer)

    Base.metadata.create_all(engine)
    s = make_session()
    w = Wide(id=1, a="a", b="b", c="c", d=4)
    s.add(w)
    s.commit()
    sql_log.clear()
    assert (w.a, w.b, w.c, w.d) == ("a", "b", "c", 4)
    selects = sql_log.matching("SELECT")
    assert len(selects) == 1
    for col in ("a", "b", "c", "d"):
        assert col in selects[0]


def test_attributes_expired_separately_load_in_one_select(session, User, sql_log):
    u = User(id=1, name="a", note="n")
    session.add(u)
    session.commit()
    u.name  # noqa: B018
    session.expire(u, ["name"])
    session.expire(u, ["note"])
    sql_log.clear()
    assert u.name == "a"
    assert u.note == "n"
    assert len(sql_log.matching("SELECT")) == 1


def test_expire_of_detached_object_raises(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.expunge(u)
    with pytest.raises(exc.InvalidRequestError):
        session.expire(u)


def test_refresh_of_detached_object_raises(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.close()
    with pytest.raises(exc.InvalidRequestError):
        session.refresh(u)


def test_two_sessions_hold_distinct_objects_for_one_row(make_session, User):
    s1, s2 = make_session(), make_session()
    s1.add(User(id=1, name="a"))
    s1.commit()
    a, b = s1.get(User, 1), s2.get(User, 1)
    assert a is not b
    assert inspect(a).key == inspect(b).key
    a.name = "changed"
    assert b.name == "a"
