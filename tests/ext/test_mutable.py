"""``datamapper.mutable``: in-place changes of dict/list/set column values are flushed.

Without tracking, ``doc.data["k"] = 1`` on a JSON column changes nothing the Session
sees and the write is lost; every test here reads the row back on a separate
connection.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from sqlalchemy import JSON, PickleType, String, TypeDecorator

from datamapper import DeclarativeBase, Mapped, Session, mapped_column
from datamapper.exc import ArgumentError
from datamapper.mutable import Mutable, MutableDict, MutableList, MutableSet


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


@pytest.fixture
def Doc(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Doc(Base):
        __tablename__ = "mu_docs"
        id: Mapped[int] = mapped_column(primary_key=True)
        data: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(JSON))
        tags: Mapped[list[str]] = mapped_column(MutableList.as_mutable(JSON), default=list)
        flags: Mapped[set[str]] = mapped_column(MutableSet.as_mutable(PickleType), default=set)
        plain: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # not tracked

    metadata.create_all(engine)
    return Doc


def _row(read_rows, Doc):
    (row,) = read_rows(Doc.__table__)
    return _json(row[1]), _json(row[2]), row[3], _json(row[4])


def test_dict_change_in_place_is_flushed(Doc, engine, read_rows):
    with Session(engine) as s:
        d = Doc(data={"a": 1})
        s.add(d)
        s.commit()
        d.data["b"] = 2                  # expired by the commit: reloaded, then changed
        assert d in s.dirty
        s.commit()
        assert _row(read_rows, Doc)[0] == {"a": 1, "b": 2}
        del d.data["a"]
        s.commit()
        d.data.update(c=3)
        d.data.setdefault("d", 4)
        s.commit()
        assert d.data.pop("c") == 3
        s.commit()
    assert _row(read_rows, Doc)[0] == {"b": 2, "d": 4}


def test_value_loaded_in_a_new_session_is_tracked(Doc, engine, read_rows):
    with Session(engine) as s:
        s.add(Doc(data={"a": 1}))
        s.commit()
    with Session(engine) as s:
        d = s.get(Doc, 1)
        assert isinstance(d.data, MutableDict)
        d.data.clear()
        s.commit()
    assert _row(read_rows, Doc)[0] == {}


def test_list_and_set_changes_are_flushed(Doc, engine, read_rows):
    with Session(engine) as s:
        d = Doc(data={})
        s.add(d)
        s.commit()
        d.tags.append("x")
        d.tags.extend(["y", "z"])
        d.flags.add("f1")
        s.commit()
        d.tags.remove("y")
        d.tags.sort(reverse=True)
        d.flags |= {"f2"}
        d.flags.discard("f1")
        s.commit()
    _, tags, flags, _ = _row(read_rows, Doc)
    assert tags == ["z", "x"]
    assert flags == {"f2"}


def test_assigned_plain_value_is_converted_and_tracked(Doc, engine, read_rows):
    with Session(engine) as s:
        d = Doc(data={})
        s.add(d)
        s.flush()
        d.data = {"new": 1}
        assert type(d.data) is MutableDict
        s.commit()
        d.data["more"] = 2
        s.commit()
    assert _row(read_rows, Doc)[0] == {"new": 1, "more": 2}


def test_replaced_value_no_longer_reports_to_the_object(Doc, engine, read_rows):
    with Session(engine) as s:
        d = Doc(data={"a": 1})
        s.add(d)
        s.commit()
        old = d.data
        d.data = {"b": 2}
        s.commit()
        old["c"] = 3             # not the object's value any more
        assert d not in s.dirty
        s.commit()
    assert _row(read_rows, Doc)[0] == {"b": 2}


def test_untracked_column_still_needs_assignment(Doc, engine, read_rows):
    # the contrast that shows why the tracking exists
    with Session(engine) as s:
        d = Doc(data={}, plain={"a": 1})
        s.add(d)
        s.commit()
        d.plain["b"] = 2
        assert d not in s.dirty
        s.commit()
    assert _row(read_rows, Doc)[3] == {"a": 1}


def test_wrong_value_type_is_refused(Doc, engine):
    d = Doc(data={})
    with pytest.raises(ValueError, match="mutable attribute 'data'"):
        d.data = ["not", "a", "dict"]
    assert d.data == {}


def test_associate_with_tracks_every_column_of_a_type(metadata, engine, read_rows):
    class Tracked(MutableDict[str, Any]):
        pass

    class NoteJSON(TypeDecorator[Any]):
        # a type class of this test's own: associate_with() applies to every mapper
        # configured later in the process, as in SQLAlchemy
        impl = JSON
        cache_ok = True

    Tracked.associate_with(NoteJSON)

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Note(Base):
        __tablename__ = "mu_notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        meta: Mapped[dict[str, Any]] = mapped_column(NoteJSON)
        name: Mapped[str] = mapped_column(String(20))

    metadata.create_all(engine)
    with Session(engine) as s:
        n = Note(meta={}, name="n")
        s.add(n)
        s.commit()
        n.meta["k"] = "v"
        assert type(n.meta) is Tracked
        s.commit()
    assert _json(read_rows(Note.__table__)[0][1]) == {"k": "v"}
    with pytest.raises(ArgumentError, match="as_mutable"):
        Tracked.associate_with(JSON())  # type: ignore[arg-type]


def test_associate_with_attribute(metadata, engine, read_rows):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Cfg(Base):
        __tablename__ = "mu_cfg"
        id: Mapped[int] = mapped_column(primary_key=True)
        values: Mapped[list[int]] = mapped_column(JSON)

    MutableList.associate_with_attribute(Cfg.values)
    metadata.create_all(engine)
    with Session(engine) as s:
        c = Cfg(values=[1])
        s.add(c)
        s.commit()
        c.values.append(2)
        s.commit()
    assert _json(read_rows(Cfg.__table__)[0][1]) == [1, 2]


def test_mutable_values_pickle_as_their_content(Doc, engine):
    with Session(engine) as s:
        d = Doc(data={"a": [1]})
        s.add(d)
        s.commit()
        copy = pickle.loads(pickle.dumps(d.data))
        assert type(copy) is MutableDict and copy == {"a": [1]}
        copy["b"] = 1             # reports to nobody
        assert d not in s.dirty


def test_base_class_refuses_everything_but_none() -> None:
    assert Mutable.coerce("x", None) is None
    with pytest.raises(ValueError, match="override Mutable.coerce"):
        Mutable.coerce("x", 1)
