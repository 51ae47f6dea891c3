"""Inside ``with session.begin():`` (or ``begin_nested()``) the block owns its
transaction.  Once that transaction is committed or rolled back inside the block,
using the session there raises instead of beginning a new transaction that the
block would never commit (SQLAlchemy 2.x: "Can't operate on closed transaction
inside context manager"): the check runs on the next operation that needs the
transaction, not when the block exits; a no-op flush, an identity-map hit,
expire/expunge, rollback() and close() stay allowed."""

import pytest
from sqlalchemy import text

from datamapper import Session, exc, scoped_session, sessionmaker

CLOSED_MSG = "Can't operate on a closed transaction inside this context manager"

OPERATIONS = {
    "add": lambda s, User, u: s.add(User(id=9, name="late")),
    "delete": lambda s, User, u: s.delete(u),
    "merge": lambda s, User, u: s.merge(User(id=10, name="late")),
    "execute": lambda s, User, u: s.execute(text("SELECT 1")).all(),
    "query": lambda s, User, u: s.query(User).all(),
    "get-miss": lambda s, User, u: s.get(User, 2),
    "connection": lambda s, User, u: s.connection(),
    "begin_nested": lambda s, User, u: s.begin_nested(),
    "commit": lambda s, User, u: s.commit(),
    "refresh": lambda s, User, u: s.refresh(u),
}


@pytest.fixture
def one_user(engine, User):
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), {"id": 1, "name": "one"})


def _ids(read_rows, User):
    return [r[0] for r in read_rows(User.__table__)]


@pytest.mark.parametrize("op", sorted(OPERATIONS))
@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_work_after_the_block_transaction_ended_raises(make_session, User, one_user,
                                                       read_rows, op, ending):
    s = make_session(expire_on_commit=False)
    with s.begin():
        u = s.get(User, 1)
        s.add(User(id=5, name="in-block"))
        getattr(s, ending)()
        with pytest.raises(exc.InvalidRequestError, match=CLOSED_MSG):
            OPERATIONS[op](s, User, u)
    # the block ended quietly; nothing was begun by the refused operation
    assert s.in_transaction() is False
    assert _ids(read_rows, User) == ([1, 5] if ending == "commit" else [1])
    # after the block the session is usable again
    s.add(User(id=7, name="after"))
    s.commit()
    assert 7 in _ids(read_rows, User)


def test_add_after_commit_inside_block_is_not_silently_lost(make_session, User, read_rows):
    s = make_session()
    with pytest.raises(exc.InvalidRequestError, match=CLOSED_MSG):
        with s.begin():
            s.add(User(id=1, name="committed"))
            s.commit()
            s.add(User(id=2, name="would be lost"))
    assert _ids(read_rows, User) == [1]


def test_harmless_operations_after_commit_inside_block_are_allowed(make_session, User,
                                                                   one_user, read_rows):
    s = make_session(expire_on_commit=False)
    with s.begin():
        u = s.get(User, 1)
        s.commit()
        s.flush()  # nothing to flush
        assert s.get(User, 1) is u  # identity-map hit, no SQL
        s.expire(u, ["name"])
        s.expunge(u)
        s.rollback()
        s.close()


def test_sessionmaker_begin_block_refuses_work_after_commit(engine, User, read_rows):
    maker = sessionmaker(bind=engine)
    with pytest.raises(exc.InvalidRequestError, match=CLOSED_MSG):
        with maker.begin() as s:
            s.add(User(id=1, name="a"))
            s.commit()
            s.query(User).all()
    assert _ids(read_rows, User) == [1]


def test_autocommit_session_begin_block_refuses_work_after_commit(engine, User, read_rows):
    s = Session(bind=engine, autocommit=True)
    try:
        with pytest.raises(exc.InvalidRequestError, match=CLOSED_MSG):
            with s.begin():
                s.add(User(id=1, name="a"))
                s.commit()
                s.execute(text("SELECT 1"))
        assert _ids(read_rows, User) == [1]
    finally:
        s.close()


def test_subtransaction_block_refuses_work_after_its_commit(make_session, User, read_rows):
    s = make_session()
    with s.begin():
        with pytest.raises(exc.InvalidRequestError, match=CLOSED_MSG):
            with s.begin(subtransactions=True):
                s.add(User(id=1, name="a"))
                s.commit()  # ends the subtransaction marker
                s.add(User(id=2, name="b"))
        s.add(User(id=3, name="c"))  # the outer block is still open
    assert _ids(read_rows, User) == [1, 3]


def test_scoped_session_begin_block_refuses_work_after_commit(engine, User, read_rows):
    registry = scoped_session(sessionmaker(bind=engine))
    try:
        with pytest.raises(exc.InvalidRequestError, match=CLOSED_MSG):
            with registry.begin():
                registry.add(User(id=1, name="a"))
                registry.commit()
                registry.add(User(id=2, name="b"))
    finally:
        registry.remove()
    assert _ids(read_rows, User) == [1]


# ------------------------------------------------------------------ savepoints


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_begin_nested_block_refuses_work_after_its_savepoint_ended(make_session, User,
                                                                   read_rows, ending):
    s = make_session()
    with s.begin():
        s.add(User(id=1, name="outer"))
        with pytest.raises(exc.InvalidRequestError, match="begin_nested"):
            with s.begin_nested():
                s.add(User(id=2, name="savepoint"))
                getattr(s, ending)()  # RELEASE / ROLLBACK TO SAVEPOINT
                s.add(User(id=3, name="after the savepoint ended"))
        # back in the outer block: work goes on normally
        s.add(User(id=4, name="outer again"))
    assert _ids(read_rows, User) == ([1, 2, 4] if ending == "commit" else [1, 4])


def test_begin_nested_block_with_explicit_savepoint_commit_object(make_session, User,
                                                                  read_rows):
    s = make_session()
    with s.begin():
        with pytest.raises(exc.InvalidRequestError, match=CLOSED_MSG):
            with s.begin_nested() as sp:
                s.add(User(id=1, name="a"))
                sp.commit()
                s.flush()
                s.execute(text("SELECT 1"))
    assert _ids(read_rows, User) == [1]


def test_nested_blocks_unwind_one_at_a_time(make_session, User, read_rows):
    s = make_session()
    with s.begin():
        with s.begin_nested():
            s.add(User(id=1, name="a"))
        with s.begin_nested():
            s.add(User(id=2, name="b"))
        s.add(User(id=3, name="c"))
    assert _ids(read_rows, User) == [1, 2, 3]
    assert s._tx_blocks == []
