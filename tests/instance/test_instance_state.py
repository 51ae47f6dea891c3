"""InstanceState lifecycle and inspect(obj) members; object_session,
make_transient, make_transient_to_detached, was_deleted."""

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import (
    exc,
    inspect,
    make_transient,
    make_transient_to_detached,
    object_session,
    was_deleted,
)


def flags(obj):
    st = inspect(obj)
    return {
        name
        for name in ("transient", "pending", "persistent", "deleted", "detached")
        if getattr(st, name)
    }


def test_new_object_is_transient(User):
    u = User(name="a")
    st = inspect(u)
    assert flags(u) == {"transient"}
    assert st.session is None
    assert st.key is None and st.identity_key is None
    assert st.identity is None
    assert st.object is u
    assert object_session(u) is None


def test_lifecycle_through_add_flush_delete_commit(session, User):
    u = User(id=1, name="a")
    session.add(u)
    assert flags(u) == {"pending"}
    assert inspect(u).session is session
    assert object_session(u) is session
    assert inspect(u).key is None

    session.flush()
    assert flags(u) == {"persistent"}
    st = inspect(u)
    assert st.identity == (1,)
    assert st.identity_key == st.key
    assert st.key[0] is User and tuple(st.key[1]) == (1,)

    session.delete(u)
    assert flags(u) == {"persistent"}  # deleted only after flush
    session.flush()
    assert flags(u) == {"deleted"}
    assert was_deleted(u)
    assert inspect(u).session is session

    session.commit()
    assert flags(u) == {"detached"}
    assert was_deleted(u)
    assert object_session(u) is None


def test_deleted_state_undone_by_rollback(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.delete(u)
    session.flush()
    assert flags(u) == {"deleted"}
    session.rollback()
    assert flags(u) == {"persistent"}
    assert not was_deleted(u)


def test_expunge_and_close_make_objects_detached(session, User):
    a, b = User(id=1, name="a"), User(id=2, name="b")
    session.add_all([a, b])
    session.commit()
    session.expunge(a)
    assert flags(a) == {"detached"}
    assert inspect(a).key is not None
    session.close()
    assert flags(b) == {"detached"}


def test_detached_object_can_be_added_back(make_session, User, sql_log):
    s1 = make_session(expire_on_commit=False)
    u = User(id=1, name="a")
    s1.add(u)
    s1.commit()
    s1.close()
    s2 = make_session()
    sql_log.clear()
    s2.add(u)
    assert flags(u) == {"persistent"}
    assert s2.get(User, 1) is u
    assert sql_log.statements == []


def test_modified_flag(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    assert u.name == "a"
    assert not inspect(u).modified
    u.name = "b"
    assert inspect(u).modified
    session.flush()
    assert not inspect(u).modified


def test_expired_attributes_and_unloaded(session, User):
    u = User(id=1, name="a", note="n")
    session.add(u)
    session.commit()
    st = inspect(u)
    assert {"name", "note"} <= set(st.expired_attributes)
    assert {"name", "note"} <= set(st.unloaded)
    u.name  # noqa: B018
    assert not st.expired_attributes
    assert "name" not in st.unloaded


def test_attrs_value_and_loaded_value(session, User, sql_log):
    u = User(id=1, name="a", note="n")
    session.add(u)
    session.commit()
    u.name  # noqa: B018
    st = inspect(u)
    assert st.attrs["name"].value == "a"
    assert st.attrs["name"].loaded_value == "a"
    u.name = "b"
    assert st.attrs["name"].value == "b"
    assert list(st.attrs["name"].history.deleted) == ["a"]
    session.expire(u, ["note"])
    sql_log.clear()
    st.attrs["note"].loaded_value  # noqa: B018 -- must not load
    assert sql_log.statements == []
    assert st.attrs["note"].value == "n"


def test_make_transient_removes_identity_and_session(session, User, sql_log, read_rows):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    assert u.name == "a"
    make_transient(u)
    assert flags(u) == {"transient"}
    assert inspect(u).key is None
    assert u not in session
    assert u.name == "a"  # loaded values kept
    u.id = 2
    session.add(u)
    session.commit()
    assert read_rows(User.__table__) == [(1, "a", None), (2, "a", None)]


def test_make_transient_to_detached_then_add_makes_persistent_without_sql(
    session, User, sql_log, read_rows
):
    session.add(User(id=1, name="a"))
    session.commit()
    session.close()
    u = User(id=1, name="b")
    make_transient_to_detached(u)
    assert flags(u) == {"detached"}
    assert inspect(u).identity == (1,)
    sql_log.clear()
    session.add(u)
    assert flags(u) == {"persistent"}
    assert sql_log.statements == []
    u.note = "x"
    session.commit()
    # history was reset: "b" counts as loaded, only note is written
    assert read_rows(User.__table__) == [(1, "a", "x")]


def test_make_transient_to_detached_requires_transient(session, User):
    u = User(id=1, name="a")
    session.add(u)
    with pytest.raises(exc.InvalidRequestError):
        make_transient_to_detached(u)


def test_was_deleted_false_for_live_objects(session, User):
    u = User(id=1, name="a")
    assert not was_deleted(u)
    session.add(u)
    session.flush()
    assert not was_deleted(u)


def test_objects_that_compare_equal_or_are_unhashable_keep_separate_states(
        Base, engine, session, read_rows):
    class Same(Base):
        __tablename__ = "same"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

        def __eq__(self, other):
            return True

        __hash__ = None

    Base.metadata.create_all(engine)
    a, b = Same(id=1, name="a"), Same(id=2, name="b")
    sa_, sb = inspect(a), inspect(b)
    assert sa_ is not sb and sa_ != sb and len({sa_, sb}) == 2
    assert sa_.obj() is a and sb.obj() is b
    session.add_all([a, b])
    assert len(session.new) == 2
    session.commit()
    assert read_rows(Same.__table__) == [(1, "a"), (2, "b")]
    a.name = "a2"
    assert list(session.dirty) == [a]
    session.commit()
    assert read_rows(Same.__table__) == [(1, "a2"), (2, "b")]


def test_state_of_a_collected_object_reports_no_object_and_leaves_the_map(session, User):
    import gc

    session.add(User(id=1, name="x"))
    session.commit()
    u = session.get(User, 1)
    st = inspect(u)
    assert st.obj() is u
    del u
    gc.collect()
    assert st.obj() is None
    assert len(session.identity_map) == 0
    assert session.get(User, 1).name == "x"


def test_expire_states_pauses_the_cyclic_gc_for_large_sessions_and_restores_it(monkeypatch):
    """A large expire pass (commit of a big session) runs with gc disabled, and gc is
    enabled again afterwards, also when the pass raises."""
    import gc

    from datamapper.instance import state as state_mod

    seen: list[bool] = []

    def fake(states):
        seen.append(gc.isenabled())
        if len(seen) == 2:
            raise RuntimeError("boom")

    monkeypatch.setattr(state_mod, "_expire_states", fake)
    monkeypatch.setattr(state_mod, "_GC_PAUSE_STATES", 3)
    assert gc.isenabled()
    state_mod.expire_states([object()] * 5)
    with pytest.raises(RuntimeError):
        state_mod.expire_states(iter([object()] * 5))
    state_mod.expire_states([object()] * 2)
    assert seen == [False, False, True]
    assert gc.isenabled()
