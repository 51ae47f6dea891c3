"""A Session joined to a Connection's own transaction (seed 002 "Joining a Session
into an External Transaction", including the SAVEPOINT test-fixture recipe),
and the session transaction events that recipe relies on."""

import pytest
from sqlalchemy import text

from _tx_support import assert_released
from datamapper import Session, event, exc, inspect, sessionmaker


def test_commit_inside_external_transaction_leaves_it_to_its_owner(engine, User, read_rows):
    connection = engine.connect()
    trans = connection.begin()
    session = Session(bind=connection)
    session.add(User(id=1, name="a"))
    session.commit()
    assert trans.is_active and connection.in_transaction()
    assert read_rows(User.__table__) == []  # not committed: the outer transaction is open
    assert session.query(User).count() == 1  # but visible inside it
    session.close()
    trans.rollback()
    connection.close()
    assert read_rows(User.__table__) == []
    assert_released(engine)


def test_external_transaction_commit_keeps_session_work(engine, User, read_rows):
    connection = engine.connect()
    trans = connection.begin()
    session = Session(bind=connection)
    session.add(User(id=1, name="a"))
    session.commit()
    session.add(User(id=2, name="b"))
    session.commit()
    session.close()
    trans.commit()
    connection.close()
    assert read_rows(User.__table__) == [(1, "a", None), (2, "b", None)]
    assert_released(engine)


def test_session_bound_to_connection_without_transaction_commits_and_keeps_it_open(
        engine, User, read_rows):
    with engine.connect() as connection:
        session = Session(bind=connection)
        session.add(User(id=1, name="a"))
        session.commit()
        assert read_rows(User.__table__) == [(1, "a", None)]
        session.add(User(id=2, name="b"))
        session.flush()
        session.rollback()
        assert not connection.closed and not connection.in_transaction()
        assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 1
        connection.rollback()
        session.close()
        assert not connection.closed
    assert read_rows(User.__table__) == [(1, "a", None)]
    assert_released(engine)


class _SavepointFixture:
    """Seed 002's recipe: outer transaction, session in a SAVEPOINT that is
    begun again each time it ends."""

    def __init__(self, engine):
        self.connection = engine.connect()
        self.trans = self.connection.begin()
        self.session = Session(bind=self.connection)
        self.session.begin_nested()

        @event.listens_for(self.session, "after_transaction_end")
        def restart_savepoint(session, transaction):
            if transaction.nested and not transaction._parent.nested:
                session.begin_nested()

    def tear_down(self):
        self.session.close()
        self.trans.rollback()
        self.connection.close()


def test_fixture_recipe_lets_the_test_commit_and_roll_back(engine, User, read_rows):
    fx = _SavepointFixture(engine)
    session = fx.session
    session.add(User(id=1, name="kept-by-test"))
    session.commit()  # releases the SAVEPOINT; a new one begins
    assert session.in_nested_transaction()
    session.add(User(id=2, name="rolled-back-by-test"))
    session.flush()
    session.rollback()  # back to the SAVEPOINT; a new one begins
    assert session.in_nested_transaction()
    assert [u.id for u in session.query(User).order_by(User.id)] == [1]
    session.add(User(id=3, name="after"))
    session.commit()
    assert [u.id for u in session.query(User).order_by(User.id)] == [1, 3]
    assert read_rows(User.__table__) == []  # nothing ever committed
    fx.tear_down()
    assert read_rows(User.__table__) == []
    assert_released(engine)


def test_fixture_recipe_survives_a_failed_flush(engine, Base, read_rows):
    from sqlalchemy import Column, Integer, String

    class Strict(Base):
        __tablename__ = "strict"
        id = Column(Integer, primary_key=True)
        name = Column(String(20), nullable=False)

    Base.metadata.create_all(engine)
    fx = _SavepointFixture(engine)
    session = fx.session
    session.add(Strict(id=1, name="ok"))
    session.commit()
    bad = Strict(id=2, name=None)
    session.add(bad)
    with pytest.raises(exc.IntegrityError):
        session.flush()
    session.rollback()
    assert inspect(bad).transient
    assert session.in_nested_transaction()
    assert [s.id for s in session.query(Strict)] == [1]
    fx.tear_down()
    assert read_rows(Strict.__table__) == []
    assert_released(engine)


# --------------------------------------------------------------------- events


def _record(target, names):
    seen = []
    for name in names:
        def fn(*args, _name=name):
            seen.append((_name, args))
        event.listen(target, name, fn)
    return seen


TX_EVENTS = ["after_transaction_create", "after_transaction_end", "after_begin",
             "before_commit", "after_commit", "after_rollback", "after_soft_rollback"]


def test_commit_fires_events_in_order_with_their_arguments(session, User):
    seen = _record(session, TX_EVENTS)
    in_tx = []
    event.listen(session, "after_begin", lambda s, tx, conn: in_tx.append(conn.in_transaction()))
    session.add(User(id=1, name="a"))
    session.commit()
    root = [args for name, args in seen if name == "after_transaction_create"][0][1]
    assert root.parent is None
    # the flush runs in its own subtransaction, which also begins and ends
    names = [n for n, _a in seen]
    assert names[0] == "after_transaction_create"
    order = [n for n in names if n in ("before_commit", "after_begin", "after_commit")]
    assert order == ["before_commit", "after_begin", "after_commit"]
    assert names[-1] == "after_transaction_end"
    begin_args = [a for n, a in seen if n == "after_begin"][0]
    assert begin_args[0] is session and begin_args[1] is root
    assert in_tx == [True]  # the third argument is the Connection, in its transaction
    end_args = [a for n, a in seen if n == "after_transaction_end"]
    assert end_args[-1] == (session, root)


def test_rollback_fires_after_rollback_and_after_soft_rollback(session, User):
    session.add(User(id=1, name="a"))
    session.flush()
    seen = _record(session, TX_EVENTS)
    session.rollback()
    assert [n for n, _a in seen] == ["after_rollback", "after_transaction_end",
                                     "after_soft_rollback"]
    soft = [a for n, a in seen if n == "after_soft_rollback"][0]
    assert soft[0] is session and soft[1].parent is None


def test_savepoint_events_name_the_nested_transaction(session, User):
    session.add(User(id=1, name="a"))
    session.flush()
    seen = _record(session, TX_EVENTS)
    sp = session.begin_nested()
    created = [a[1] for n, a in seen if n == "after_transaction_create"]
    assert sp in created and sp.nested
    assert ("after_begin", (session, sp, session.connection())) in [
        (n, a) for n, a in seen if n == "after_begin"]
    session.rollback()
    ended = [a[1] for n, a in seen if n == "after_transaction_end"]
    assert sp in ended
    assert any(n == "after_soft_rollback" and a[1] is sp for n, a in seen)
    session.commit()


def test_failed_flush_fires_after_rollback(session, Base, engine):
    from sqlalchemy import Column, Integer, String

    class Strict(Base):
        __tablename__ = "strict"
        id = Column(Integer, primary_key=True)
        name = Column(String(20), nullable=False)

    Base.metadata.create_all(engine)
    seen = _record(session, TX_EVENTS)
    session.add(Strict(id=1, name=None))
    with pytest.raises(exc.IntegrityError):
        session.flush()
    assert "after_rollback" in [n for n, _a in seen]
    session.rollback()


def test_listeners_on_sessionmaker_and_session_class(engine, User):
    maker = sessionmaker(bind=engine)
    from_maker = _record(maker, ["after_commit"])

    class MySession(Session):
        pass

    from_class = _record(MySession, ["before_commit"])
    s = maker()
    s.add(User(id=1, name="a"))
    s.commit()
    assert [a[0] for _n, a in from_maker] == [s]
    s2 = MySession(bind=engine)
    s2.add(User(id=2, name="b"))
    s2.commit()
    assert [a[0] for _n, a in from_class] == [s2]
    s.close()
    s2.close()


def test_event_remove_stops_listener(session, User):
    calls = []

    def fn(sess):
        calls.append(sess)

    event.listen(session, "after_commit", fn)
    session.commit()
    event.remove(session, "after_commit", fn)
    session.commit()
    assert calls == [session]
