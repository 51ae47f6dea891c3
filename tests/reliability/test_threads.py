"""Threads: a Session is for one thread at a time, and says so.

A second thread entering a Session while another thread is inside it gets
``SessionConcurrencyError`` naming both threads, and its call does nothing;
``scoped_session`` gives every thread its own Session.  The deterministic
overlap check is also run against a deliberately broken guard, which it catches.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String

from datamapper import Session, declarative_base, event, scoped_session, sessionmaker
from datamapper.exc import InvalidRequestError, SessionConcurrencyError
from datamapper.session import ownership


@pytest.fixture
def User(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    metadata.create_all(engine)
    return User


def _overlap(engine, User, second_call):
    """Thread 'flusher' stops inside flush(); the main thread then runs
    ``second_call(session)``.  Returns the exception it raised (or None)."""
    s = Session(engine)
    inside, release = threading.Event(), threading.Event()

    @event.listens_for(s, "before_flush")
    def _wait(session, ctx, instances):
        inside.set()
        release.wait(10)

    s.add(User(id=1, name="a"))
    errors = []
    t = threading.Thread(target=lambda: errors.append(_try(s.flush)), name="flusher")
    t.start()
    assert inside.wait(10)
    try:
        caught = _try(lambda: second_call(s))
    finally:
        release.set()
        t.join(10)
    assert errors == [None]
    s.commit()
    s.close()
    return caught


def _try(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - returned to the caller to inspect
        return err
    return None


@pytest.mark.parametrize("call", ["commit", "rollback", "flush", "add", "add_all", "delete",
                                  "close", "execute", "query", "get", "merge", "expire_all",
                                  "begin_nested"])
def test_a_second_thread_inside_a_session_is_refused(engine, User, read_rows, call):
    calls = {
        "commit": lambda s: s.commit(), "rollback": lambda s: s.rollback(),
        "flush": lambda s: s.flush(), "add": lambda s: s.add(User(id=2, name="b")),
        "add_all": lambda s: s.add_all([User(id=2, name="b")]),
        "delete": lambda s: s.delete(User(id=2, name="b")),
        "close": lambda s: s.close(), "execute": lambda s: s.execute(sa.text("SELECT 1")),
        "query": lambda s: s.query(User).all(), "get": lambda s: s.get(User, 5),
        "merge": lambda s: s.merge(User(id=3, name="c")), "expire_all": lambda s: s.expire_all(),
        "begin_nested": lambda s: s.begin_nested(),
    }
    err = _overlap(engine, User, calls[call])
    assert isinstance(err, SessionConcurrencyError) and isinstance(err, InvalidRequestError)
    msg = str(err)
    assert "'flusher'" in msg and "'MainThread'" in msg and "flush()" in msg
    assert "scoped_session" in msg
    assert read_rows(User.__table__) == [(1, "a")]  # the refused call did nothing


def _inside_add(engine, User, add_call, second_call):
    """Thread 'adder' stops inside ``add_call(session)`` (which pauses at ``pause``);
    the main thread then runs ``second_call(session)``.  Returns what it raised."""
    s = Session(engine)
    inside, release = threading.Event(), threading.Event()

    def pause():
        if threading.current_thread().name == "adder":
            inside.set()
            release.wait(10)

    errors = []
    t = threading.Thread(target=lambda: errors.append(_try(lambda: add_call(s, pause))),
                         name="adder")
    t.start()
    assert inside.wait(10)
    try:
        caught = _try(lambda: second_call(s))
    finally:
        release.set()
        t.join(10)
    assert errors == [None]
    s.commit()
    s.close()
    return caught


def _add_pausing_in_listener(s, pause):
    event.listen(s, "before_attach", lambda session, obj: pause())
    s.add(s.info["obj"])


def _add_all_pausing_in_state_lookup(s, pause):
    s.add_all([s.info["obj"]])


@pytest.mark.parametrize("adding", ["add", "add_all"])
@pytest.mark.parametrize("second", ["commit", "flush", "rollback"])
def test_a_second_thread_is_refused_while_another_is_inside_add(engine, User, read_rows,
                                                                adding, second):
    """add() takes the session's ownership for its call: a commit another thread
    started in the middle of it ended the transaction the add() had just begun
    (the add then orphaned the commit's next transaction and its connection)."""
    pausing = {}

    class Paused(User):
        # a pause inside add_all(): the state lookup of an object that has none yet
        def __getattr__(self, name):
            if name == "_dm_state" and pausing.get("on"):
                pausing["on"] = False
                pausing["pause"]()
            raise AttributeError(name)

    def add_call(s, pause):
        pausing.update(on=True, pause=pause)
        if adding == "add":
            s.info["obj"] = User(id=2, name="b")
            _add_pausing_in_listener(s, pause)
        else:
            s.info["obj"] = Paused(id=2, name="b")
            _add_all_pausing_in_state_lookup(s, pause)

    err = _inside_add(engine, User, add_call, lambda s: getattr(s, second)())
    assert isinstance(err, SessionConcurrencyError), err
    assert "'adder'" in str(err) and f"Session.{adding}()" in str(err)
    assert [r[0] for r in read_rows(User.__table__)] == [2]  # the add, committed after


def test_the_overlap_check_catches_a_session_without_the_guard(engine, User, monkeypatch):
    # broken on purpose: every thread looks like the owner, so nothing is refused
    monkeypatch.setattr(ownership, "_get_ident", lambda: 1)
    assert _overlap(engine, User, lambda s: s.expire_all()) is None  # not caught: broken


def test_the_same_thread_may_reenter_its_session_from_listeners(engine, User, read_rows):
    s = Session(engine)

    @event.listens_for(s, "before_flush")
    def _more(session, ctx, instances):
        if not session.query(User).filter(User.id == 9).all():  # a query inside flush
            session.add(User(id=9, name="from listener"))

    s.add(User(id=1, name="a"))
    s.commit()
    s.close()
    assert read_rows(User.__table__) == [(1, "a"), (9, "from listener")]


def test_a_session_handed_from_thread_to_thread_is_fine(engine, User, read_rows):
    s = Session(engine)
    for i in range(5):
        t = threading.Thread(target=lambda i=i: (s.add(User(id=i + 1, name="x")), s.commit()))
        t.start()
        t.join()
    s.close()
    assert len(read_rows(User.__table__)) == 5


def test_two_threads_sharing_a_session_never_lose_an_acknowledged_commit(
        engine_factory, User, read_rows):
    eng = engine_factory(pool_size=4, max_overflow=0, pool_timeout=10)
    s = Session(eng)
    acked: list[int] = []
    refused = []
    lock = threading.Lock()

    def worker(base):
        for i in range(100):
            try:
                s.add(User(id=base + i, name="w"))
                s.commit()
            except SessionConcurrencyError:
                refused.append(1)
                continue
            except Exception:  # noqa: BLE001 - e.g. the other thread's object in this flush
                refused.append(2)
                try:
                    s.rollback()
                except SessionConcurrencyError:
                    pass
                continue
            with lock:
                acked.append(base + i)

    threads = [threading.Thread(target=worker, args=(b,)) for b in (1000, 2000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    s.close()
    stored = {r[0] for r in read_rows(User.__table__)}
    assert set(acked) <= stored  # nothing acknowledged was lost
    assert eng.pool.checkedout() == 0


def test_scoped_session_gives_each_thread_its_own_session(engine_factory, User, read_rows):
    eng = engine_factory(pool_size=8, max_overflow=0, pool_timeout=30)
    Scoped = scoped_session(sessionmaker(bind=eng))
    # The session objects themselves are kept (not their id()): a session freed by
    # Scoped.remove() could leave its id() to the next thread's session.
    seen = {n: [] for n in range(1, 9)}
    errors = []
    lock = threading.Lock()

    def worker(n):
        try:
            for i in range(50):
                Scoped.add(User(id=n * 1000 + i, name=f"t{n}"))
                Scoped.commit()
                with lock:
                    seen[n].append(Scoped())
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(repr(err))
        finally:
            Scoped.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    # each thread used one session throughout, and no two threads shared one
    for sessions in seen.values():
        assert len(sessions) == 50
        assert all(s is sessions[0] for s in sessions)
    firsts = [sessions[0] for sessions in seen.values()]
    assert all(a is not b for i, a in enumerate(firsts) for b in firsts[i + 1 :])
    rows = read_rows(User.__table__)
    assert len(rows) == 400
    for n in range(1, 9):
        assert sum(1 for r in rows if r[1] == f"t{n}") == 50
    assert eng.pool.checkedout() == 0


def test_two_asyncio_tasks_offloading_one_session_to_threads_are_refused(engine, User,
                                                                        read_rows):
    """asyncio code runs a synchronous Session in worker threads
    (``asyncio.to_thread`` / ``run_in_executor``): two tasks doing so with one
    Session overlap inside it, and the second gets SessionConcurrencyError naming
    both threads, its call doing nothing.  (Tasks that call the Session directly,
    on the loop's thread, cannot be inside it at once: its methods never await.)"""
    import asyncio

    s = Session(engine)
    inside, release = threading.Event(), threading.Event()

    @event.listens_for(s, "before_flush")
    def _wait(session, ctx, instances):
        inside.set()
        release.wait(10)

    s.add(User(id=1, name="a"))

    async def main():
        first = asyncio.create_task(asyncio.to_thread(s.flush))
        await asyncio.to_thread(inside.wait, 10)

        def second():
            try:
                s.add(User(id=2, name="b"))
            finally:
                release.set()

        with pytest.raises(SessionConcurrencyError, match=r"thread .*inside Session\.flush"):
            await asyncio.to_thread(second)
        await first

    asyncio.run(main())
    assert [u.id for u in s.new] == []
    s.commit()
    s.close()
    assert read_rows(User.__table__) == [(1, "a")]
