"""A Session whose Engine hands out connections already in a transaction (an
``engine_connect`` listener called ``begin()``): the session owns that
connection, so it takes the transaction over in every join_transaction_mode."""

import pytest
from sqlalchemy import event

from datamapper import Session

MODES = ["conditional_savepoint", "create_savepoint", "control_fully", "rollback_only"]


@pytest.fixture
def begun_engine(engine_factory):
    eng = engine_factory()
    seen = {"events": [], "conns": []}

    @event.listens_for(eng, "engine_connect")
    def begin_at_once(conn):
        seen["conns"].append(conn)
        conn.begin()

    event.listen(eng, "commit", lambda conn: seen["events"].append("commit"))
    event.listen(eng, "rollback", lambda conn: seen["events"].append("rollback"))
    return eng, seen


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("end,expected", [("commit", "commit"), ("rollback", "rollback"),
                                          ("close", "rollback")])
def test_session_takes_over_a_transaction_begun_by_engine_connect(
        begun_engine, User, read_rows, mode, end, expected):
    eng, seen = begun_engine
    s = Session(eng, join_transaction_mode=mode)
    s.add(User(id=1, name="u1"))
    s.flush()
    getattr(s, end)()
    assert seen["events"] == [expected]
    assert not seen["conns"][0].in_transaction()
    assert read_rows(User.__table__) == ([(1, "u1", None)] if end == "commit" else [])
