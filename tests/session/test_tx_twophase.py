"""Two-phase commit across two databases: PostgreSQL (PREPARE TRANSACTION) and
MariaDB (XA).  Every test proves through separate connections what each
database holds, and that no prepared transaction is left behind.

PostgreSQL needs max_prepared_transactions > 0 (a server setting that needs a
restart; .ci/enable-pg-twophase turns it on before the suite runs): when it is
0 the PostgreSQL tests skip and say so.
"""

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from _tx_support import (  # noqa: F401
    assert_released,
    max_prepared_transactions,
    prepared_transactions,
    table_rows,
    user_and_account,
)
from datamapper import exc, inspect


@pytest.fixture
def classes(Base, engine, other_engine):
    return user_and_account(Base, engine, other_engine, "tp_")


_rows = table_rows


@pytest.mark.servers_only
def test_twophase_commit_prepares_both_databases_then_commits(
        twophase_ready, make_session, classes, engine, other_engine):
    User, Account = classes
    steps = []
    for name, eng in (("db1", engine), ("db2", other_engine)):
        for step in ("begin_twophase", "prepare_twophase", "commit_twophase", "commit"):
            event.listen(eng, step,
                         lambda conn, *a, _s=step, _n=name: steps.append((_s, _n)))
    s = make_session(twophase=True, binds={User: engine, Account: other_engine})
    s.add_all([User(id=1, name="ann"), Account(id=1, balance=10)])
    s.commit()
    assert _rows(engine, User.__table__) == [(1, "ann")]
    assert _rows(other_engine, Account.__table__) == [(1, 10)]
    # both databases prepared before either commits, no plain COMMIT
    kinds = [k for k, _db in steps]
    assert kinds == ["begin_twophase"] * 2 + ["prepare_twophase"] * 2 + ["commit_twophase"] * 2
    for kind in ("begin_twophase", "prepare_twophase", "commit_twophase"):
        assert sorted(db for k, db in steps if k == kind) == ["db1", "db2"]
    assert_released(engine, other_engine)


@pytest.mark.servers_only
def test_explicit_prepare_holds_work_until_commit(twophase_ready, make_session, classes,
                                                  engine, other_engine):
    User, Account = classes
    s = make_session(twophase=True, binds={User: engine, Account: other_engine})
    s.add_all([User(id=1, name="ann"), Account(id=1, balance=10)])
    s.prepare()
    assert len(prepared_transactions(engine)) >= 1
    assert len(prepared_transactions(other_engine)) >= 1
    assert _rows(engine, User.__table__) == []
    assert _rows(other_engine, Account.__table__) == []
    s.commit()
    assert _rows(engine, User.__table__) == [(1, "ann")]
    assert _rows(other_engine, Account.__table__) == [(1, 10)]
    assert prepared_transactions(other_engine) == [] or \
        engine.dialect.name == "mysql"  # XA RECOVER is server-wide
    assert_released(engine, other_engine)


@pytest.mark.servers_only
def test_rollback_after_prepare_discards_both(twophase_ready, make_session, classes, engine,
                                              other_engine):
    User, Account = classes
    s = make_session(twophase=True, binds={User: engine, Account: other_engine})
    ann = User(id=1, name="ann")
    s.add_all([ann, Account(id=1, balance=10)])
    s.prepare()
    s.rollback()
    assert inspect(ann).transient
    assert _rows(engine, User.__table__) == []
    assert _rows(other_engine, Account.__table__) == []
    assert_released(engine, other_engine)


@pytest.mark.servers_only
def test_failure_in_prepare_rolls_every_database_back(twophase_ready, make_session, classes,
                                                      engine, other_engine):
    User, Account = classes

    def refuse(conn, xid):
        raise RuntimeError("second database refuses to prepare")

    s = make_session(twophase=True, binds={User: engine, Account: other_engine})
    s.add(User(id=1, name="ann"))
    s.flush()  # the first database is used (and so prepared) first
    s.add(Account(id=1, balance=10))
    event.listen(other_engine, "prepare_twophase", refuse)
    with pytest.raises(RuntimeError, match="refuses"):
        s.commit()
    assert not s.in_transaction() or s.transaction.state == "active"
    assert _rows(engine, User.__table__) == []
    assert _rows(other_engine, Account.__table__) == []
    assert_released(engine, other_engine)
    event.remove(other_engine, "prepare_twophase", refuse)
    # the session goes on
    s.add_all([User(id=2, name="bob"), Account(id=2, balance=5)])
    s.commit()
    assert _rows(engine, User.__table__) == [(2, "bob")]
    assert _rows(other_engine, Account.__table__) == [(2, 5)]


@pytest.mark.postgresql_only
def test_postgresql_refusing_prepare_of_temp_table_work_rolls_back_both(
        twophase_ready, make_session, classes, engine, other_engine):
    User, Account = classes
    s = make_session(twophase=True, binds={User: engine, Account: other_engine})
    s.add(User(id=1, name="ann"))
    s.flush()
    s.add(Account(id=1, balance=10))
    s.flush()
    # PostgreSQL cannot PREPARE a transaction that touched a temporary table
    s.execute(sa.text("CREATE TEMPORARY TABLE scratch (x int)"), mapper=Account)
    with pytest.raises(exc.DBAPIError, match="(?i)temporary"):
        s.commit()
    assert _rows(engine, User.__table__) == []
    assert _rows(other_engine, Account.__table__) == []
    assert_released(engine, other_engine)


@pytest.mark.sqlite_only
def test_twophase_on_sqlite_raises_invalid_request(make_session, User, read_rows):
    s = make_session(twophase=True)
    s.add(User(id=1, name="a"))
    with pytest.raises(exc.InvalidRequestError, match="twophase=False"):
        s.flush()
    assert_released(s.get_bind())
    s.rollback()
    assert read_rows(User.__table__) == []
