"""Session names kept from the 0.3/0.4 documents: save(), update(), save_or_update(),
clear(), load(), create_transaction().  Each works and warns with its replacement."""

import re
import warnings

import pytest
from sqlalchemy import text

from datamapper import inspect
from datamapper.exc import InvalidRequestError, NoResultFound


@pytest.fixture
def stored(User, make_session):
    """User 1 'ed', committed; returned detached with its attributes loaded."""
    s = make_session(expire_on_commit=False)
    u = User(id=1, name="ed")
    s.add(u)
    s.commit()
    s.close()
    return u


def _warned(call, match):
    with pytest.deprecated_call(match=match) as record:
        result = call()
    return result, record


@pytest.mark.parametrize("name, replacement", [
    ("save", r"Session\.add\(\)"),
    ("update", r"Session\.add\(\)"),
    ("save_or_update", r"Session\.add\(\)"),
    ("clear", r"Session\.expunge_all\(\)"),
    ("load", r"Session\.get\("),
    ("create_transaction", r"Session\.begin\(\)"),
])
def test_legacy_method_warns_naming_its_replacement_at_the_callers_line(
        name, replacement, session, User, stored):
    args = {"save": (User(id=2),), "update": (stored,), "save_or_update": (User(id=3),),
            "load": (User, 1)}.get(name, ())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(session, name)(*args)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1
    assert f"Session.{name}() is deprecated" in str(deprecations[0].message)
    assert re.search(replacement, str(deprecations[0].message))
    assert deprecations[0].filename == __file__


# -- save / update / save_or_update ------------------------------------------------------------
def test_save_makes_transient_object_pending_and_flush_inserts_it(session, User, read_rows):
    u = User(id=1, name="ed")
    _warned(lambda: session.save(u), "add")
    assert inspect(u).pending and u in session.new
    session.commit()
    assert read_rows(User.__table__) == [(1, "ed", None)]


def test_save_of_persisted_object_raises(session, User, stored):
    with pytest.deprecated_call(), pytest.raises(InvalidRequestError,
                                                 match=r"save\(\).*already persisted.*add"):
        session.save(stored)
    assert stored not in session


def test_update_reattaches_detached_object_and_flush_writes_its_changes(
        session, User, stored, sql_log, read_rows):
    stored.name = "changed while detached"
    _warned(lambda: session.update(stored), "add")
    assert inspect(stored).persistent
    assert stored in session.dirty
    session.commit()
    assert len(sql_log.matching("UPDATE")) == 1
    assert read_rows(User.__table__) == [(1, "changed while detached", None)]


def test_update_of_transient_object_raises(session, User):
    with pytest.deprecated_call(), pytest.raises(InvalidRequestError,
                                                 match=r"update\(\).*not persisted.*add"):
        session.update(User(id=5))


def test_save_or_update_handles_transient_and_detached_objects(session, User, stored,
                                                               read_rows):
    new = User(id=2, name="new")
    stored.name = "renamed"
    with pytest.deprecated_call():
        session.save_or_update(new)
        session.save_or_update(stored)
    assert inspect(new).pending and inspect(stored).persistent
    session.commit()
    assert read_rows(User.__table__) == [(1, "renamed", None), (2, "new", None)]


def test_save_or_update_of_object_in_another_session_raises(make_session, User):
    other = make_session()
    u = User(id=1)
    other.add(u)
    session = make_session()
    with pytest.deprecated_call(), pytest.raises(InvalidRequestError, match="another session"):
        session.save_or_update(u)


# -- clear ----------------------------------------------------------------------------------
def test_clear_detaches_every_object_and_forgets_pending_ones(session, User, stored,
                                                              read_rows):
    loaded = session.get(User, 1)
    pending = User(id=2, name="pending")
    session.add(pending)
    _warned(session.clear, "expunge_all")
    assert inspect(loaded).detached and inspect(pending).transient
    assert list(session) == []
    session.commit()
    assert read_rows(User.__table__) == [(1, "ed", None)]


# -- load -----------------------------------------------------------------------------------
def test_load_returns_the_object_for_a_primary_key(session, User, stored):
    u, _ = _warned(lambda: session.load(User, 1), "get")
    assert (u.id, u.name) == (1, "ed") and inspect(u).persistent


def test_load_of_missing_row_raises(session, User, stored):
    with pytest.deprecated_call(), pytest.raises(NoResultFound, match="User.*42.*no such row"):
        session.load(User, 42)
    assert issubclass(NoResultFound, InvalidRequestError)


def test_load_overwrites_unflushed_changes_with_database_values(
        session, User, stored, sql_log):
    u = session.get(User, 1)
    u.name = "unflushed"
    sql_log.clear()
    with pytest.deprecated_call():
        again = session.load(User, 1)
    assert again is u
    assert u.name == "ed"
    assert u not in session.dirty
    assert len(sql_log.matching("SELECT")) == 1
    assert sql_log.matching("UPDATE") == []


def test_load_rereads_a_row_changed_by_another_connection(session, User, stored, engine):
    u = session.get(User, 1)
    session.commit()  # end the transaction so the change below is visible afterwards
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'elsewhere' WHERE id = 1"))
    with pytest.deprecated_call():
        assert session.load(User, 1) is u
    assert u.name == "elsewhere"


# -- create_transaction ---------------------------------------------------------------------
def test_create_transaction_commit_writes_to_the_database(session, User, read_rows):
    tx, _ = _warned(session.create_transaction, "begin")
    session.add(User(id=1, name="in tx"))
    assert read_rows(User.__table__) == []
    tx.commit()
    assert read_rows(User.__table__) == [(1, "in tx", None)]


def test_create_transaction_as_context_manager_rolls_back_on_error(session, User, read_rows):
    with pytest.deprecated_call(), pytest.raises(RuntimeError):
        with session.create_transaction():
            session.add(User(id=1, name="lost"))
            session.flush()
            raise RuntimeError("boom")
    assert read_rows(User.__table__) == []


def test_create_transaction_inside_a_transaction_is_a_subtransaction(session, User,
                                                                     read_rows):
    session.add(User(id=1, name="outer"))
    session.flush()  # a database transaction is now in progress
    with pytest.deprecated_call():
        inner = session.create_transaction()
    session.add(User(id=2, name="inner"))
    inner.commit()  # ends only the subtransaction: nothing is committed yet
    assert read_rows(User.__table__) == []
    session.commit()
    assert read_rows(User.__table__) == [(1, "outer", None), (2, "inner", None)]
