"""Keyword arguments reach a custom get_bind(); SessionTransaction.connection(bindkey)
(the 0.4/0.9 API); Session(close_resets_only=False) makes close() final (SQLAlchemy
2.x), also through sessionmaker; the default keeps close() a reset."""

import pytest
from sqlalchemy import select, text

from datamapper import Session, exc, scoped_session, sessionmaker


class RecordingSession(Session):
    """A Session subclass with its own get_bind() that records its keywords."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.seen = []

    def get_bind(self, mapper=None, clause=None, **kw):
        self.seen.append(kw)
        return super().get_bind(mapper, clause=clause)


# ------------------------------------------------------------ get_bind keywords


def test_execute_passes_extra_keywords_to_get_bind(engine, User):
    s = RecordingSession(bind=engine)
    try:
        assert s.execute(text("SELECT 1"), shard="east").scalar() == 1
        assert {"shard": "east"} in s.seen
        s.seen.clear()
        s.execute(select(User), shard="west").all()  # ORM select
        assert s.seen and all(kw == {"shard": "west"} for kw in s.seen)
        s.seen.clear()
        s.execute(select(User), bind_arguments={"shard": "north"}).all()
        assert s.seen and all(kw == {"shard": "north"} for kw in s.seen)
        s.seen.clear()
        assert s.scalar(text("SELECT 2"), shard="south") == 2
        assert {"shard": "south"} in s.seen
    finally:
        s.close()


def test_connection_and_get_pass_extra_keywords_to_get_bind(engine, User):
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), {"id": 1, "name": "a"})
    s = RecordingSession(bind=engine)
    try:
        s.connection(shard="east")
        assert s.seen == [{"shard": "east"}]
        s.seen.clear()
        u = s.get(User, 1, shard="west")
        assert u.name == "a"
        assert {"shard": "west"} in s.seen
        s.seen.clear()
        assert s.get(User, 2, bind_arguments={"shard": "north"}) is None
        assert {"shard": "north"} in s.seen
    finally:
        s.close()


def test_get_bind_without_keywords_still_works_for_plain_calls(engine, User):
    class Plain(Session):
        def get_bind(self, mapper=None, clause=None):
            return engine

    s = Plain()
    try:
        s.add(User(id=1, name="a"))
        s.commit()
        assert s.get(User, 1).name == "a"
        assert s.execute(text("SELECT 1")).scalar() == 1
    finally:
        s.close()


# ------------------------------------------------------ SessionTransaction.connection


def test_transaction_connection_is_the_connection_for_the_class_bind(engine, engine_factory,
                                                                     User, read_rows):
    other = engine_factory()
    s = Session(bind=engine, binds={User: other})
    try:
        tx = s.begin()
        conn = tx.connection(User)
        assert conn.engine.url == other.url and conn is s.connection(mapper=User)
        assert tx.connection(User) is conn
        conn.execute(User.__table__.insert(), {"id": 1, "name": "via tx"})
        s.commit()
        assert [r[0] for r in read_rows(User.__table__)] == [1]
    finally:
        s.close()


def test_transaction_connection_in_autocommit_and_subtransaction(engine, User, read_rows):
    s = Session(bind=engine, autocommit=True)
    try:
        root = s.begin()
        sub = s.begin(subtransactions=True)
        assert sub.connection(User) is root.connection(User)
        sub.connection(User).execute(User.__table__.insert(), {"id": 1, "name": "a"})
        s.commit()
        s.rollback()
        assert read_rows(User.__table__) == []
        with pytest.raises(exc.InvalidRequestError):
            root.connection(User)
    finally:
        s.close()


def test_transaction_connection_of_a_committed_transaction_raises(session, User):
    tx = session.begin()
    tx.commit()
    with pytest.raises(exc.InvalidRequestError):
        tx.connection(User)


# ------------------------------------------------------ close_resets_only


REFUSED = {
    "add": lambda s, User: s.add(User(id=9, name="x")),
    "execute": lambda s, User: s.execute(text("SELECT 1")),
    "query": lambda s, User: s.query(User).all(),
    "get": lambda s, User: s.get(User, 1),
    "connection": lambda s, User: s.connection(),
    "begin": lambda s, User: s.begin(),
    "begin_nested": lambda s, User: s.begin_nested(),
    "commit": lambda s, User: s.commit(),
    "merge": lambda s, User: s.merge(User(id=10, name="x")),
}


@pytest.mark.parametrize("op", sorted(REFUSED))
def test_close_is_final_with_close_resets_only_false(make_session, User, op):
    s = make_session(close_resets_only=False)
    s.get(User, 1)
    s.close()
    with pytest.raises(exc.InvalidRequestError, match="close_resets_only=False"):
        REFUSED[op](s, User)


def test_closed_session_still_allows_harmless_calls(make_session, User):
    s = make_session(close_resets_only=False)
    s.close()
    s.rollback()
    s.flush()  # nothing to flush
    s.expunge_all()
    s.close()
    assert not s.in_transaction()


def test_reset_keeps_the_session_usable(make_session, User, read_rows):
    s = make_session(close_resets_only=False)
    s.add(User(id=1, name="discarded"))
    s.reset()
    assert not s.new
    s.add(User(id=2, name="kept"))
    s.commit()
    assert [r[0] for r in read_rows(User.__table__)] == [2]


def test_default_close_resets_and_the_session_is_reusable(make_session, User, read_rows):
    s = make_session()
    s.add(User(id=1, name="a"))
    s.commit()
    s.close()
    s.add(User(id=2, name="b"))
    s.commit()
    assert [r[0] for r in read_rows(User.__table__)] == [1, 2]


def test_with_block_and_invalidate_close_for_good(engine, User):
    with Session(bind=engine, close_resets_only=False) as s:
        s.get(User, 1)
    with pytest.raises(exc.InvalidRequestError, match="close_resets_only"):
        s.get(User, 1)
    s2 = Session(bind=engine, close_resets_only=False)
    s2.connection()
    s2.invalidate()
    with pytest.raises(exc.InvalidRequestError, match="close_resets_only"):
        s2.execute(text("SELECT 1"))


def test_sessionmaker_and_scoped_session_pass_close_resets_only(engine, User, read_rows):
    maker = sessionmaker(bind=engine, close_resets_only=False)
    s = maker()
    s.close()
    with pytest.raises(exc.InvalidRequestError, match="close_resets_only"):
        s.add(User(id=1, name="x"))
    registry = scoped_session(maker)
    registry.add(User(id=1, name="a"))
    registry.commit()
    registry.remove()  # closes for good, and forgets that session
    registry.add(User(id=2, name="b"))  # a new session
    registry.commit()
    registry.remove()
    assert [r[0] for r in read_rows(User.__table__)] == [1, 2]
