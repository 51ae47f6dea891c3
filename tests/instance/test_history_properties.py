"""Property test: attribute history of a scalar attribute against a tiny
reference model, for transient and persistent objects."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datamapper import inspect
from datamapper.attributes import get_history, set_committed_value

pytestmark = pytest.mark.sqlite_only

NOHIST = object()  # no committed value recorded: nothing changed
NOVALUE = object()  # committed "value" was absent (never set)

VALUES = st.sampled_from([None, "a", "b", "c"])
OPS = st.one_of(
    st.tuples(st.just("set"), VALUES),
    st.tuples(st.just("del"), st.none()),
    st.tuples(st.just("commit"), VALUES),
    st.tuples(st.just("expire"), st.none()),
)


class Model:
    """What get_history() must report for one scalar attribute."""

    def __init__(self, persistent, db_value):
        self.persistent = persistent
        self.db_value = db_value
        self.has_value = persistent
        self.value = db_value if persistent else None
        self.committed = NOHIST

    def set(self, v):
        if self.committed is NOHIST:
            self.committed = self.value if self.has_value else NOVALUE
        self.value, self.has_value = v, True

    def delete(self):
        assert self.has_value
        if self.committed is NOHIST:
            self.committed = self.value
        self.has_value = False

    def commit(self, v):  # set_committed_value
        self.value, self.has_value, self.committed = v, True, NOHIST

    def expire(self):  # then reload from the database on access
        assert self.persistent
        self.value, self.has_value, self.committed = self.db_value, True, NOHIST

    def expected(self):
        """Acceptable (added, unchanged, deleted) triples."""
        if self.committed is NOHIST:
            return [([], [self.value], [])] if self.has_value else [([], [], [])]
        if self.has_value and self.committed is not NOVALUE and self.value == self.committed:
            return [([], [self.value], [])]
        deleted = [] if self.committed is NOVALUE else [self.committed]
        added = [self.value] if self.has_value else []
        if not self.has_value and self.committed is NOVALUE:
            # set then deleted on a never-loaded attribute: no net change;
            # SQLAlchemy reports ([None], (), ()) here, also accepted
            return [([], [], []), ([None], [], [])]
        return [(added, [], deleted)]


def triple(hist):
    return (list(hist.added), list(hist.unchanged), list(hist.deleted))


def run(obj, session, model, ops):
    assert triple(get_history(obj, "name")) in model.expected()
    for op, arg in ops:
        if op == "set":
            obj.name = arg
            model.set(arg)
        elif op == "del":
            if not model.has_value:
                continue
            del obj.name
            model.delete()
        elif op == "commit":
            set_committed_value(obj, "name", arg)
            model.commit(arg)
        elif op == "expire":
            if not model.persistent:
                continue
            session.expire(obj, ["name"])
            model.expire()
        got = triple(get_history(obj, "name"))
        assert got in model.expected(), (op, arg, got, model.expected())
        assert triple(inspect(obj).attrs["name"].history) == got


@settings(deadline=None)  # example count: the profile (conftest.py; HYPOTHESIS_PROFILE=soak)
@given(ops=st.lists(OPS, max_size=12))
def test_history_of_transient_object_matches_model(User, ops):
    u = User(id=1)
    run(u, None, Model(persistent=False, db_value=None), ops)


@settings(deadline=None)  # example count: the profile (conftest.py; HYPOTHESIS_PROFILE=soak)
@given(db_value=VALUES, ops=st.lists(OPS, max_size=12))
def test_history_of_persistent_object_matches_model(engine, make_session, User, db_value, ops):
    s = make_session(autoflush=False)
    try:
        s.add(User(id=1, name=db_value))
        s.commit()
        u = s.get(User, 1)
        assert u.name == db_value
        run(u, s, Model(persistent=True, db_value=db_value), ops)
    finally:
        s.rollback()
        s.expunge_all()
        s.execute("DELETE FROM users")
        s.commit()
