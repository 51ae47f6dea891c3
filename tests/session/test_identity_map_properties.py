"""Property test: the identity map against a dict model.

Random add / flush / get / expunge / delete / commit / rollback on one mapped
class: session.get returns the identical object for every key the model
holds, and None or a fresh object otherwise."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from datamapper import inspect

pytestmark = pytest.mark.sqlite_only

KEYS = st.integers(min_value=1, max_value=4)
OPS = st.tuples(
    st.sampled_from(["add", "flush", "get", "expunge", "delete", "commit", "rollback"]),
    KEYS,
)


class Model:
    def __init__(self):
        self.objs = {}  # key -> object in the session (pending/persistent/deleted)
        self.pending = set()  # added, not flushed
        self.marked = set()  # session.delete()d, not flushed
        self.db = set()  # rows visible to the session
        self.committed_db = set()
        self.new_in_tx = set()  # keys whose object became pending in this tx
        self.deleted_in_tx = {}  # key -> object deleted (flushed) in this tx
        self.gone = []  # objects no longer in the session
        self.stale = {}  # key -> object left in the session whose row is gone

    def flush(self):
        self.db |= self.pending
        self.pending = set()
        for k in self.marked:
            self.db.discard(k)
            obj = self.objs.pop(k)
            if k not in self.new_in_tx:
                self.deleted_in_tx[k] = obj
            self.gone.append(obj)
        self.marked = set()

    def commit(self):
        self.flush()
        self.committed_db = set(self.db)
        self.new_in_tx = set()
        self.deleted_in_tx = {}

    def rollback(self):
        self.db = set(self.committed_db)
        for k in list(self.objs):
            if k in self.new_in_tx:
                self.gone.append(self.objs.pop(k))
        for k, obj in self.deleted_in_tx.items():
            self.objs[k] = obj
        for k in list(self.objs):
            if k not in self.db:
                # loaded in this transaction, its row rolled back: it stays
                # in the session, expired, until a load finds the row gone
                self.stale[k] = self.objs.pop(k)
        self.pending = set()
        self.marked = set()
        self.new_in_tx = set()
        self.deleted_in_tx = {}


@settings(deadline=None)  # example count: the profile (conftest.py; HYPOTHESIS_PROFILE=soak)
@given(ops=st.lists(OPS, max_size=25))
@example(  # a row that vanished on rollback frees its key for a new object
    ops=[
        ("add", 1),
        ("flush", 1),
        ("expunge", 1),
        ("get", 1),
        ("rollback", 1),
        ("get", 1),
        ("add", 1),
        ("commit", 1),
        ("get", 1),
    ]
)
def test_session_get_agrees_with_dict_model(engine, make_session, User, ops):
    s = make_session(autoflush=False)
    m = Model()
    counter = 0
    try:
        for op, k in ops:
            if op == "add":
                if k in m.objs or k in m.db or k in m.stale:
                    continue
                counter += 1
                obj = User(id=k, name=f"n{counter}")
                s.add(obj)
                m.objs[k] = obj
                m.pending.add(k)
                m.new_in_tx.add(k)
            elif op == "flush":
                s.flush()
                m.flush()
            elif op == "commit":
                s.commit()
                m.commit()
            elif op == "rollback":
                s.rollback()
                m.rollback()
            elif op == "expunge":
                if k not in m.objs or k in m.marked:
                    continue
                obj = m.objs.pop(k)
                s.expunge(obj)
                m.pending.discard(k)
                m.new_in_tx.discard(k)
                m.gone.append(obj)
            elif op == "delete":
                if k not in m.objs or k in m.pending or k in m.marked:
                    continue
                s.delete(m.objs[k])
                m.marked.add(k)
            elif op == "get":
                got = s.get(User, k)
                if k in m.stale:
                    assert got is None
                    m.gone.append(m.stale.pop(k))
                elif k in m.marked:
                    assert got is None or got is m.objs[k]
                elif k in m.objs and k not in m.pending:
                    assert got is m.objs[k]
                elif k in m.db and k not in m.objs:
                    assert got is not None and got.id == k
                    assert all(got is not g for g in m.gone)
                    assert inspect(got).persistent
                    m.objs[k] = got
                else:
                    assert got is None
            # membership agrees with the model after every step
            for key, obj in m.objs.items():
                assert obj in s, (op, key)
            for obj in m.gone:
                if not any(obj is o for o in m.objs.values()):
                    assert obj not in s, (op, obj.__dict__)
        s.commit()
        m.commit()
        s.expunge_all()
        for k in range(1, 5):
            got = s.get(User, k)
            assert (got is not None) == (k in m.committed_db)
    finally:
        s.rollback()
        s.execute("DELETE FROM users")
        s.commit()
        s.close()
