"""SessionTransaction.connections and bound_connection(): which Connections a
transaction level holds, per bind."""

import pytest
import sqlalchemy as sa

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


def test_connection_bind_also_serves_its_engine(engine, User, read_rows):
    """Bound to a Connection, the session uses that connection for a mapper bound to the
    connection's Engine too (one transaction, not a second connection)."""
    with engine.connect() as conn:
        s = Session(bind=conn, binds={User: engine})
        s.execute(sa.text("SELECT 1"))
        s.add(User(id=1, name="a"))
        s.flush()
        assert s.connection(bind_arguments={"mapper": User}) is conn
        assert s.get_transaction().connections == frozenset([conn])
        s.rollback()
        assert read_rows(User.__table__) == []
        s.close()


def test_engine_like_bind_with_connect_is_used(engine, User, read_rows):
    """Any bind with connect() is used as an Engine (a proxy, a test double)."""

    class EngineProxy:
        def __init__(self, target):
            self.target = target
            self.connects = 0

        def connect(self):
            self.connects += 1
            return self.target.connect()

    proxy = EngineProxy(engine)
    with Session(bind=proxy) as s:
        s.add(User(id=1, name="a"))
        s.commit()
    assert proxy.connects == 1
    assert [r[:2] for r in read_rows(User.__table__)] == [(1, "a")]


def test_bind_without_connect_is_refused(User):
    s = Session(bind=object())
    with pytest.raises(InvalidRequestError, match="a Session binds to an Engine or a Connection"):
        s.connection()


def test_execution_options_after_the_connection_exists_warn(session):
    from sqlalchemy.exc import SAWarning

    conn = session.connection()
    with pytest.warns(SAWarning, match="already established for the given bind; "
                                       "execution_options ignored"):
        assert session.connection(execution_options={"isolation_level": "SERIALIZABLE"}) \
            is conn
