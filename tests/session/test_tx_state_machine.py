"""SessionTransaction as a state machine: the transaction stack, subtransactions,
failed flushes, autocommit mode, and every misuse named in the issue (each an
InvalidRequestError that says what to call instead, with the session left as
it was)."""

import pytest
from sqlalchemy import Column, Integer, String, text

from _tx_support import assert_released, max_prepared_transactions
from datamapper import SessionTransaction, create_session, exc, inspect


@pytest.fixture
def Strict(Base, engine):
    class Strict(Base):
        __tablename__ = "strict"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False)

    Base.metadata.create_all(engine)
    return Strict


# ----------------------------------------------------------------- the stack


def test_transaction_stack_exposes_parent_nested_and_state(session, User):
    assert not session.in_transaction()
    root = session.begin()
    assert isinstance(root, SessionTransaction)
    assert session.transaction is root and session.get_transaction() is root
    assert root.parent is None and not root.nested and root.is_active
    assert root.state == "active"
    sub = session.begin(subtransactions=True)
    assert sub.parent is root and not sub.nested and session.transaction is sub
    sp = session.begin_nested()
    assert sp.parent is sub and sp.nested and session.in_nested_transaction()
    assert session.get_transaction() is root and session.get_nested_transaction() is sp
    sp.commit()
    assert sp.state == "closed" and session.transaction is sub
    sub.commit()
    assert session.transaction is root and root.is_active
    root.commit()
    assert root.state == "closed" and not session.in_transaction()


def test_transaction_context_manager_commits_on_success(session, User, read_rows):
    with session.begin() as tx:
        session.add(User(id=1, name="a"))
    assert tx.state == "closed"
    assert read_rows(User.__table__) == [(1, "a", None)]
    assert_released(session.get_bind())


def test_transaction_context_manager_rolls_back_on_error(session, User, read_rows):
    with pytest.raises(KeyError), session.begin():
        session.add(User(id=1, name="a"))
        session.flush()
        raise KeyError("boom")
    assert read_rows(User.__table__) == []
    assert not session.in_transaction()
    assert_released(session.get_bind())


def test_prepared_state_accepts_only_commit_or_rollback(make_session, User, backend_name, engine):
    if backend_name == "sqlite":
        pytest.skip("SQLite has no two-phase commit")
    if backend_name == "postgresql" and max_prepared_transactions(engine) == 0:
        pytest.skip("PostgreSQL max_prepared_transactions = 0: two-phase commit is off")
    s = make_session(twophase=True)
    s.add(User(id=1, name="a"))
    s.prepare()
    assert s.transaction.state == "prepared" and not s.is_active
    with pytest.raises(exc.InvalidRequestError, match="prepared"):
        s.execute(text("SELECT 1"))
    s.rollback()
    assert_released(s.get_bind())


# --------------------------------------------------------- subtransactions


def test_subtransaction_commit_defers_to_outer_transaction(session, User, read_rows):
    session.begin()
    session.begin(subtransactions=True)
    session.add(User(id=1, name="a"))
    session.commit()  # the subtransaction: nothing committed yet
    assert session.in_transaction()
    session.flush()
    assert read_rows(User.__table__) == []
    session.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_subtransaction_rollback_rolls_back_outer_and_requires_rollback(session, User,
                                                                        read_rows):
    outer = session.begin()
    session.add(User(id=1, name="a"))
    session.flush()
    session.begin(subtransactions=True)
    session.rollback()  # rolls back the real transaction under it
    assert not outer.is_active and not session.is_active
    with pytest.raises(exc.PendingRollbackError, match="rollback"):
        session.add(User(id=2, name="b"))
        session.flush()
    session.rollback()
    assert session.is_active
    assert read_rows(User.__table__) == []


def test_method_a_method_b_subtransaction_pattern_in_autocommit(engine, User, read_rows):
    def method_b(s):
        s.begin(subtransactions=True)
        try:
            s.add(User(id=1, name="bat"))
            s.commit()  # not committed yet
            assert read_rows(User.__table__) == []
        except BaseException:
            s.rollback()
            raise

    def method_a(s):
        s.begin(subtransactions=True)
        try:
            method_b(s)
            s.commit()  # committed here
        except BaseException:
            s.rollback()
            raise

    s = create_session(bind=engine)
    try:
        method_a(s)
        assert read_rows(User.__table__) == [(1, "bat", None)]
        assert not s.in_transaction()
    finally:
        s.close()
    assert_released(engine)


def test_method_b_failure_rolls_back_method_a_transaction(engine, User, read_rows):
    s = create_session(bind=engine)

    def method_b():
        s.begin(subtransactions=True)
        try:
            s.add(User(id=2, name="b"))
            s.flush()
            raise ValueError("b failed")
        except BaseException:
            s.rollback()
            raise

    s.begin(subtransactions=True)
    s.add(User(id=1, name="a"))
    try:
        method_b()
    except ValueError:
        s.rollback()
    assert read_rows(User.__table__) == []
    assert not s.in_transaction()
    s.close()
    assert_released(engine)


# ------------------------------------------------------------ failed flush


def test_failed_flush_quotes_original_error_until_rollback(session, Strict, read_rows):
    session.add(Strict(id=1, name="ok"))
    session.commit()
    ok = Strict(id=2, name="fine")
    session.add(ok)
    session.flush()
    session.add(Strict(id=3, name=None))
    with pytest.raises(exc.IntegrityError) as failed:
        session.flush()
    original = str(failed.value.orig).splitlines()[0][:40]
    assert not session.is_active
    attempts = [
        lambda: session.query(Strict).all(),
        lambda: session.execute(text("SELECT 1")),
        lambda: session.flush(),
        lambda: session.commit(),
        lambda: session.begin_nested(),
        lambda: session.connection(),
        lambda: session.get(Strict, 99),
    ]
    for attempt in attempts:
        with pytest.raises(exc.PendingRollbackError) as pending:
            attempt()
        assert "rollback()" in str(pending.value)
        assert original in str(pending.value)
    session.rollback()
    assert session.is_active
    # the flushed-before-failure object went with the rolled back transaction
    assert inspect(ok).transient
    assert read_rows(Strict.__table__) == [(1, "ok")]
    session.add(Strict(id=4, name="after"))
    session.commit()
    assert read_rows(Strict.__table__) == [(1, "ok"), (4, "after")]
    assert_released(session.get_bind())


def test_failed_flush_releases_connection_on_rollback(session, Strict):
    session.add(Strict(id=1, name=None))
    with pytest.raises(exc.IntegrityError):
        session.commit()
    session.rollback()
    assert_released(session.get_bind())


# ---------------------------------------------------------------- autocommit


def test_autocommit_has_no_transaction_until_begin(engine, User, read_rows):
    s = create_session(bind=engine)
    try:
        assert s.autocommit and s.transaction is None and not s.in_transaction()
        assert not s.is_active
        s.add(User(id=1, name="a"))
        s.flush()  # in its own transaction, committed at once
        assert not s.in_transaction()
        assert read_rows(User.__table__) == [(1, "a", None)]
        assert_released(engine)
        assert s.query(User).count() == 1  # its own connection, released after
        assert_released(engine)
        with s.begin():
            assert s.is_active and s.in_transaction()
            s.add(User(id=2, name="b"))
            s.flush()
            assert read_rows(User.__table__) == [(1, "a", None)]
        assert read_rows(User.__table__) == [(1, "a", None), (2, "b", None)]
        assert not s.in_transaction()
        assert_released(engine)
    finally:
        s.close()


def test_autocommit_failed_flush_rolls_back_that_flush_only(engine, Strict, read_rows):
    s = create_session(bind=engine)
    try:
        s.add(Strict(id=1, name="a"))
        s.flush()
        bad = Strict(id=2, name=None)
        s.add(bad)
        with pytest.raises(exc.IntegrityError):
            s.flush()
        assert not s.in_transaction() and s.is_active is False
        # that flush's transaction was rolled back like any other: its pending
        # object is expunged, the rows flushed before are kept
        assert inspect(bad).transient
        bad.name = "fixed"
        s.add(bad)
        s.flush()
        assert read_rows(Strict.__table__) == [(1, "a"), (2, "fixed")]
        assert_released(engine)
    finally:
        s.close()


def test_autocommit_rollback_without_transaction_is_a_no_op(engine, User):
    s = create_session(bind=engine)
    s.rollback()
    assert not s.in_transaction()
    s.close()


# ---------------------------------------------------------------- bad input


def _snapshot(session):
    return (session.transaction if session.in_transaction() else None,
            set(map(id, session.new)), set(map(id, session.deleted)),
            set(map(id, session)), session.is_active)


def test_commit_with_no_transaction_in_autocommit_mode_raises(engine, User):
    s = create_session(bind=engine)
    pending = User(id=1, name="a")
    s.add(pending)
    before = _snapshot(s)
    with pytest.raises(exc.InvalidRequestError, match=r"session\.begin\(\)"):
        s.commit()
    assert _snapshot(s) == before and inspect(pending).pending
    s.close()


def test_begin_while_active_without_flags_raises(session, User):
    tx = session.begin()
    session.add(User(id=1, name="a"))
    session.flush()
    before = _snapshot(session)
    with pytest.raises(exc.InvalidRequestError) as err:
        session.begin()
    assert "subtransactions=True" in str(err.value) and "begin_nested()" in str(err.value)
    assert _snapshot(session) == before and session.transaction is tx and tx.is_active
    session.commit()


def test_begin_after_autobegin_with_work_raises(session, User):
    session.add(User(id=1, name="a"))
    session.flush()
    with pytest.raises(exc.InvalidRequestError, match="already begun"):
        session.begin()
    session.rollback()


def test_begin_nested_with_no_transaction_in_autocommit_raises(engine, User):
    s = create_session(bind=engine)
    s.add(User(id=1, name="a"))
    before = _snapshot(s)
    with pytest.raises(exc.InvalidRequestError, match=r"session\.begin\(\)"):
        s.begin_nested()
    assert _snapshot(s) == before
    s.close()


def test_prepare_without_twophase_raises(session, User):
    session.add(User(id=1, name="a"))
    session.flush()
    before = _snapshot(session)
    with pytest.raises(exc.InvalidRequestError, match="twophase=True") as err:
        session.prepare()
    assert "commit()" in str(err.value)
    assert _snapshot(session) == before and session.transaction.state == "active"
    session.commit()


def test_prepare_of_subtransaction_raises(make_session, User):
    s = make_session(twophase=True)
    s.begin()
    sub = s.begin(subtransactions=True)
    with pytest.raises(exc.InvalidRequestError, match="root"):
        sub.prepare()
    assert sub.is_active
    s.rollback()
    s.rollback()


@pytest.mark.parametrize("how", ["commit", "rollback"])
@pytest.mark.parametrize("again", ["commit", "rollback", "prepare"])
def test_using_a_closed_transaction_raises(session, User, read_rows, how, again):
    keep = User(id=1, name="keep")
    session.add(keep)
    session.commit()
    tx = session.begin()
    getattr(tx, how)()
    session.add(User(id=2, name="later"))
    live = session.begin_nested()
    before = _snapshot(session)
    with pytest.raises(exc.InvalidRequestError, match="closed") as err:
        getattr(tx, again)()
    assert "session." in str(err.value)
    assert _snapshot(session) == before and live.is_active
    session.rollback()
    session.commit()
    assert read_rows(User.__table__) == [(1, "keep", None), (2, "later", None)]


@pytest.mark.parametrize("inner", ["nested", "subtransaction"])
def test_committing_parent_while_inner_transaction_is_open_raises(session, User, read_rows,
                                                                  inner):
    outer = session.begin()
    session.add(User(id=1, name="a"))
    inner_tx = session.begin_nested() if inner == "nested" else \
        session.begin(subtransactions=True)
    session.add(User(id=2, name="b"))
    before = _snapshot(session)
    with pytest.raises(exc.InvalidRequestError) as err:
        outer.commit()
    assert "still open" in str(err.value) and "commit" in str(err.value)
    assert _snapshot(session) == before
    assert outer.is_active and inner_tx.is_active and session.transaction is inner_tx
    assert read_rows(User.__table__) == []
    inner_tx.commit()
    outer.commit()
    assert read_rows(User.__table__) == [(1, "a", None), (2, "b", None)]


def test_each_transaction_says_how_it_began_with_the_2x_origin_names(session, User):
    from datamapper import SessionTransactionOrigin as O

    seen = []

    from datamapper import event

    @event.listens_for(session, "after_transaction_create")
    def created(sess, tx):
        seen.append(tx.origin)

    session.query(User).all()  # autobegin
    auto = session.get_transaction()
    assert auto.origin is O.AUTOBEGIN and auto.origin == "autobegin"
    session.commit()
    root = session.begin()
    assert root.origin is O.BEGIN
    sub = session.begin(subtransactions=True)
    assert sub.origin is O.SUBTRANSACTION
    sp = session.begin_nested()
    assert sp.origin is O.BEGIN_NESTED
    sp.commit()
    sub.commit()
    root.commit()
    assert [o for o in seen if o is not None][:4] == [O.AUTOBEGIN, O.BEGIN, O.SUBTRANSACTION,
                                                      O.BEGIN_NESTED]


def test_begin_after_an_unconnected_autobegin_takes_that_transaction_as_begun(session, User):
    from datamapper import SessionTransactionOrigin

    session.add(User(name="x"))  # begins the session's transaction, connects nothing
    auto = session.get_transaction()
    assert auto is not None and auto.origin is SessionTransactionOrigin.AUTOBEGIN
    tx = session.begin()
    assert tx is auto and tx.origin is SessionTransactionOrigin.BEGIN
    tx.rollback()
