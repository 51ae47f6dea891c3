"""attributes.get_history and History."""

import pytest

from datamapper import exc, inspect
from datamapper.attributes import (
    History,
    del_attribute,
    flag_modified,
    get_attribute,
    get_history,
    set_attribute,
    set_committed_value,
)


def h(hist):
    return (list(hist.added), list(hist.unchanged), list(hist.deleted))


@pytest.fixture
def loaded(session, User):
    session.add(User(id=1, name="a", note="n"))
    session.commit()
    u = session.get(User, 1)
    assert u.name == "a"
    return u


def test_history_of_unset_attribute_on_transient_is_empty(User):
    hist = get_history(User(), "name")
    assert h(hist) == ([], [], [])
    assert hist.empty()
    assert not hist.has_changes()


def test_history_of_set_attribute_on_transient(User):
    u = User()
    u.name = "a"
    assert h(get_history(u, "name")) == (["a"], [], [])
    u.name = "b"
    assert h(get_history(u, "name")) == (["b"], [], [])


def test_history_of_loaded_attribute_is_unchanged(loaded):
    hist = get_history(loaded, "name")
    assert h(hist) == ([], ["a"], [])
    assert not hist.empty()
    assert not hist.has_changes()


def test_history_after_change_shows_added_and_deleted(loaded):
    loaded.name = "b"
    hist = get_history(loaded, "name")
    assert h(hist) == (["b"], [], ["a"])
    assert hist.has_changes()


def test_history_remembers_original_value_across_changes(loaded):
    loaded.name = "b"
    loaded.name = "c"
    assert h(get_history(loaded, "name")) == (["c"], [], ["a"])


def test_setting_back_original_value_is_unchanged(loaded):
    loaded.name = "b"
    loaded.name = "a"
    assert h(get_history(loaded, "name")) == ([], ["a"], [])


def test_history_after_delete_of_loaded_attribute(loaded):
    del loaded.name
    assert h(get_history(loaded, "name")) == ([], [], ["a"])


def test_set_to_none_is_a_change(loaded):
    loaded.name = None
    assert h(get_history(loaded, "name")) == ([None], [], ["a"])


def test_history_after_flush_is_unchanged(session, loaded):
    loaded.name = "b"
    session.flush()
    assert h(get_history(loaded, "name")) == ([], ["b"], [])


def test_history_via_inspect_attrs(loaded):
    loaded.name = "b"
    state = inspect(loaded)
    assert h(state.attrs["name"].history) == (["b"], [], ["a"])
    assert h(state.attrs.name.history) == (["b"], [], ["a"])


def test_history_methods():
    hist = History(["b"], ["u"], ["a"])
    assert list(hist.added) == ["b"]
    assert list(hist.unchanged) == ["u"]
    assert list(hist.deleted) == ["a"]
    assert list(hist.sum()) == ["b", "u", "a"]
    assert list(hist.non_added()) == ["u", "a"]
    assert list(hist.non_deleted()) == ["b", "u"]
    assert hist.has_changes()
    assert not hist.empty()
    assert History((), (), ()).empty()
    assert not History((), ["x"], ()).has_changes()
    assert not History((), ["x"], ()).empty()
    assert History((), (), ["x"]).has_changes()


def test_history_is_a_three_tuple():
    added, unchanged, deleted = History(["b"], [], ["a"])
    assert list(added) == ["b"] and list(deleted) == ["a"]


def test_set_committed_value_sets_without_history(loaded, session):
    set_committed_value(loaded, "name", "z")
    assert loaded.name == "z"
    assert h(get_history(loaded, "name")) == ([], ["z"], [])
    assert loaded not in session.dirty


def test_set_committed_value_discards_pending_change(loaded, session, sql_log):
    loaded.name = "b"
    set_committed_value(loaded, "name", "c")
    assert h(get_history(loaded, "name")) == ([], ["c"], [])
    sql_log.clear()
    session.flush()
    assert sql_log.matching("UPDATE") == []


def test_flag_modified_forces_update_of_attribute(loaded, session, sql_log, read_rows, User):
    flag_modified(loaded, "note")
    assert loaded in session.dirty
    assert inspect(loaded).modified
    sql_log.clear()
    session.flush()
    updates = sql_log.matching("UPDATE")
    assert len(updates) == 1 and "note" in updates[0]
    session.commit()
    assert read_rows(User.__table__) == [(1, "a", "n")]


def test_flag_modified_of_unloaded_attribute_raises(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    u = session.get(User, 1)
    session.expire(u, ["note"])
    with pytest.raises(exc.InvalidRequestError) as err:
        flag_modified(u, "note")
    assert "note" in str(err.value)


def test_set_get_del_attribute_are_instrumented(loaded, session):
    set_attribute(loaded, "name", "b")
    assert get_attribute(loaded, "name") == "b"
    assert loaded in session.dirty
    assert h(get_history(loaded, "name")) == (["b"], [], ["a"])
    del_attribute(loaded, "note")
    assert h(get_history(loaded, "note")) == ([], [], ["n"])


def test_get_attribute_loads_expired_value(loaded, session):
    session.expire(loaded)
    assert get_attribute(loaded, "name") == "a"


def test_history_does_not_emit_sql_for_loaded_attribute(loaded, sql_log):
    sql_log.clear()
    get_history(loaded, "name")
    assert sql_log.statements == []


def test_del_of_unset_attribute_raises_attribute_error(User):
    u = User()
    with pytest.raises(AttributeError):
        del u.name


def test_flush_sends_net_change_only(loaded, session, sql_log, read_rows, User):
    loaded.name = "b"
    loaded.name = "c"
    sql_log.clear()
    session.flush()
    assert len(sql_log.matching("UPDATE")) == 1
    session.commit()
    assert read_rows(User.__table__) == [(1, "c", "n")]
