"""SessionTransaction.connections and bound_connection(): which Connections a
transaction level holds, per bind."""

import pytest

from datamapper import Session
from datamapper.exc import InvalidRequestError, UnboundExecutionError


def test_nothing_acquired(session):
    trans = session.begin()
    assert trans.connections == frozenset()
    with pytest.raises(InvalidRequestError, match="has not acquired a connection"):
        trans.bound_connection()


def test_engine_bind_connection_listed_and_kept_after_commit(session):
    conn = session.connection()
    trans = session.get_transaction()
    assert trans.connections == frozenset([conn])
    assert trans.bound_connection() is conn
    session.commit()
    assert trans.connections == frozenset([conn]) and conn.closed
    assert trans.bound_connection() is conn


def test_multiple_binds_by_mapper(engine, engine_factory, User, parent_child_models):
    Parent, _child = parent_child_models
    other = engine_factory()
    s = Session(binds={User: engine, Parent: other})
    try:
        c1 = s.connection(bind_arguments={"mapper": User})
        trans = s.get_transaction()
        assert trans.connections == frozenset([c1])
        assert trans.bound_connection(User) is c1
        with pytest.raises(InvalidRequestError, match="has not acquired a connection"):
            trans.bound_connection(Parent)
        with pytest.raises(UnboundExecutionError):
            trans.bound_connection()
        c2 = s.connection(bind_arguments={"mapper": Parent})
        assert trans.connections == frozenset([c1, c2])
        assert trans.bound_connection(Parent) is c2
        assert {k: conn for k, (conn, _t, _c, _e) in trans._connections.items()} == {
            k: c for c in (c1, c2) for k in (c, c.engine)}
    finally:
        s.close()


def test_savepoint_and_subtransaction_levels(make_session):
    s = make_session()
    conn = s.connection()
    nested = s.begin_nested()
    assert nested.connections == frozenset([conn])
    assert nested.bound_connection() is conn
    s.rollback()
    s2 = make_session(autocommit=True)
    outer = s2.begin()
    c = s2.connection()
    inner = s2.begin(subtransactions=True)
    assert inner.connections == outer.connections == frozenset([c])
    assert inner.bound_connection() is c
    inner.commit()
    outer.commit()
