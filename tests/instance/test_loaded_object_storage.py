"""Loaded objects keep their values where plain attributes live, whichever way
the loader stores them, and the weak identity map forgets only its own entries."""

import gc

from sqlalchemy import Column, Integer, String

from datamapper import inspect
from datamapper.attributes import get_history
from datamapper.loading.rows import _direct_set_ok


def test_loaded_object_dict_holds_column_values_and_state(session, User):
    session.add(User(id=1, name="ed", note=None))
    session.commit()
    session.expunge_all()
    u = session.query(User).one()
    d = vars(u)
    assert {k: d[k] for k in ("id", "name", "note")} == {"id": 1, "name": "ed", "note": None}
    assert inspect(u).key == (User, (1,), None)
    assert inspect(u).committed_state == {}
    u.name = "jack"
    assert get_history(u, "name") == (["jack"], (), ["ed"])
    assert session.is_modified(u)


def test_mapped_subclass_of_a_builtin_type_loads_through_its_dict(Base, engine, session):
    class Tagged(Base, dict):  # type: ignore[misc]
        __tablename__ = "tagged"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    Base.metadata.create_all(engine)
    assert not _direct_set_ok(Tagged, ("id", "name"))
    session.add(Tagged(id=1, name="a"))
    session.commit()
    session.expunge_all()
    t = session.query(Tagged).one()
    assert (t.id, t.name) == (1, "a")
    assert vars(t)["name"] == "a"
    assert len(t) == 0  # the dict part is untouched


def test_direct_storage_refused_when_a_data_descriptor_shadows_a_key():
    class Plain:
        pass

    class WithProperty:
        @property
        def name(self):
            return "x"

    assert _direct_set_ok(Plain, ("id", "name"))
    assert not _direct_set_ok(WithProperty, ("id", "name"))


def test_dropping_an_expunged_object_keeps_the_reloaded_one_in_the_map(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    old = session.get(User, 1)
    session.expunge(old)
    new = session.get(User, 1)
    assert new is not old
    key = inspect(new).key
    del old
    gc.collect()
    assert session.identity_map.get(key) is new
    assert session.get(User, 1) is new
