"""A mapped class whose body defines ``__setattr__``: the program's hook runs for
every attribute set (constructor arguments included), and what it stores in a mapped
attribute through ``super().__setattr__`` is tracked as any change (history, flush).
Loading rows does not call it."""

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import inspect


@pytest.fixture
def Tag(Base, engine):
    class Tag(Base):
        __tablename__ = "own_setattr_tag"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        calls: list[str] = []

        def __setattr__(self, key, value):
            type(self).calls.append(key)
            if key == "name":
                if value == "forbidden":
                    raise ValueError("no")
                if value == "skip":
                    return  # the hook refuses the write silently
                value = value.strip().lower()
            super().__setattr__(key, value)

    Base.metadata.create_all(engine)
    return Tag


def test_hook_runs_and_its_stored_value_is_flushed(Tag, session, read_rows):
    t = Tag(id=1, name="  Red ")
    assert Tag.calls == ["id", "name"]
    assert t.name == "red"
    session.add(t)
    session.commit()
    assert read_rows("SELECT id, name FROM own_setattr_tag") == [(1, "red")]
    t.name = " BLUE"
    assert inspect(t).attrs.name.history.added == ["blue"]
    assert session.is_modified(t)
    session.commit()
    assert read_rows("SELECT name FROM own_setattr_tag") == [("blue",)]


def test_hook_that_refuses_or_raises_changes_nothing(Tag, session, read_rows):
    t = Tag(id=1, name="red")
    session.add(t)
    session.commit()
    t.name = "skip"
    assert t.name == "red" and not session.is_modified(t)
    with pytest.raises(ValueError):
        t.name = "forbidden"
    assert t.name == "red" and not session.is_modified(t)


def test_loading_does_not_call_the_hook(Tag, session, make_session):
    session.add(Tag(id=1, name="red"))
    session.commit()
    Tag.calls.clear()
    s2 = make_session()
    assert s2.get(Tag, 1).name == "red"
    assert Tag.calls == []
