"""Property test: the unit of work against a dict model of the table.

Random add / modify / delete / expunge / expire / get / flush / commit /
rollback on objects of one mapped class (sqlite only).  After every flush the
rows visible inside the transaction equal the model's; after every commit the
rows another connection sees equal the model's committed rows; every object
the session holds shows the model's values."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datamapper import inspect

pytestmark = pytest.mark.sqlite_only

KEYS = st.integers(min_value=1, max_value=4)
VALS = st.sampled_from([None, "a", "b"])
OPS = st.one_of(
    st.tuples(st.just("add"), KEYS, VALS),
    st.tuples(st.just("modify_name"), KEYS, VALS),
    st.tuples(st.just("modify_note"), KEYS, VALS),
    st.tuples(st.sampled_from(["delete", "expunge", "expire", "get"]), KEYS, st.none()),
    st.tuples(st.sampled_from(["flush", "commit", "rollback"]), st.none(), st.none()),
)


class Model:
    def __init__(self):
        self.objs = {}  # key -> object held by the session (not flush-deleted)
        self.values = {}  # key -> (name, note) the object shows
        self.pending = set()
        self.marked = set()
        self.db = {}  # key -> (name, note) inside the transaction
        self.committed = {}
        self.new_in_tx = set()
        self.deleted_in_tx = {}
        self.stale = {}

    def flush(self):
        for k in self.marked:
            del self.db[k]
            obj = self.objs.pop(k)
            del self.values[k]
            if k not in self.new_in_tx:
                self.deleted_in_tx[k] = obj
        for k, v in self.values.items():
            self.db[k] = v
        self.pending, self.marked = set(), set()

    def commit(self):
        self.flush()
        self.committed = dict(self.db)
        self.new_in_tx, self.deleted_in_tx = set(), {}

    def rollback(self):
        self.db = dict(self.committed)
        for k in list(self.objs):
            if k in self.new_in_tx:
                del self.objs[k]
        self.objs.update(self.deleted_in_tx)
        for k in list(self.objs):
            if k not in self.db:
                self.stale[k] = self.objs.pop(k)
        self.values = {k: self.db[k] for k in self.objs}
        self.pending, self.marked = set(), set()
        self.new_in_tx, self.deleted_in_tx = set(), {}


def rows_in_session(s):
    return {r[0]: (r[1], r[2]) for r in s.execute("SELECT id, name, note FROM users")}


@settings(deadline=None)  # example count: the profile (conftest.py; HYPOTHESIS_PROFILE=soak)
@given(ops=st.lists(OPS, max_size=30))
def test_flush_and_transactions_agree_with_dict_model(engine, make_session, User, read_rows, ops):
    s = make_session(autoflush=False)
    m = Model()
    try:
        for op, k, v in ops:
            if op == "add":
                if k in m.objs or k in m.db or k in m.stale:
                    continue
                obj = User(id=k, name=v)
                s.add(obj)
                m.objs[k], m.values[k] = obj, (v, None)
                m.pending.add(k)
                m.new_in_tx.add(k)
            elif op in ("modify_name", "modify_note"):
                if k not in m.objs or k in m.marked:
                    continue
                name, note = m.values[k]
                if op == "modify_name":
                    m.objs[k].name = name = v
                else:
                    m.objs[k].note = note = v
                m.values[k] = (name, note)
            elif op == "delete":
                if k not in m.objs or k in m.pending or k in m.marked:
                    continue
                s.delete(m.objs[k])
                m.marked.add(k)
            elif op == "expunge":
                if k not in m.objs or k in m.marked:
                    continue
                s.expunge(m.objs.pop(k))
                del m.values[k]
                m.pending.discard(k)
                m.new_in_tx.discard(k)
            elif op == "expire":
                if k not in m.objs or k in m.pending or k in m.marked:
                    continue
                s.expire(m.objs[k])
                m.values[k] = m.db[k]
            elif op == "get":
                got = s.get(User, k)
                if k in m.stale:
                    assert got is None
                    del m.stale[k]
                elif k in m.objs and k not in m.pending:
                    assert got is m.objs[k]
                elif k in m.db and k not in m.objs:
                    assert got is not None
                    m.objs[k], m.values[k] = got, m.db[k]
                elif k not in m.objs:
                    assert got is None
            elif op == "flush":
                s.flush()
                m.flush()
                assert rows_in_session(s) == m.db
            elif op == "commit":
                s.commit()
                m.commit()
                assert {r[0]: (r[1], r[2]) for r in read_rows(User.__table__)} == m.committed
            elif op == "rollback":
                s.rollback()
                m.rollback()
            for key, obj in m.objs.items():
                assert (obj.name, obj.note) == m.values[key], (op, key)
                assert inspect(obj).key is None or inspect(obj).identity == (key,)
        s.commit()
        m.commit()
        assert {r[0]: (r[1], r[2]) for r in read_rows(User.__table__)} == m.committed
    finally:
        s.rollback()
        s.execute("DELETE FROM users")
        s.commit()
        s.close()
