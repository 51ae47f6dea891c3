"""SQLAlchemy's own ``sqlalchemy.ext.mutable`` on datamapper models (2.x code that changed
only its ORM import).  Its ``MutableDict``/``MutableList``/``MutableSet`` columns track
in-place changes through datamapper's classes of the same name, so the changes are
written; a class of the program's own derived from SQLAlchemy's ``Mutable`` is refused
when the mapper is configured, instead of losing its changes silently.  Rows are read
back on a separate connection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON, String, TypeDecorator, select
from sqlalchemy.ext.mutable import Mutable, MutableDict, MutableList, MutableSet

import datamapper.mutable
from datamapper import DeclarativeBase, Mapped, Session, configure_mappers, mapped_column
from datamapper.exc import ArgumentError


def _base(metadata: Any) -> Any:
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}  # MariaDB needs VARCHAR lengths

    Base.registry.metadata = metadata
    return Base


def test_as_mutable_dict_and_list_changes_in_place_are_written(metadata, engine, read_rows):
    Base = _base(metadata)

    class Doc(Base):
        __tablename__ = "sam_docs"
        id: Mapped[int] = mapped_column(primary_key=True)
        data: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(JSON))
        tags: Mapped[list[str]] = mapped_column(MutableList.as_mutable(JSON))

    metadata.create_all(engine)
    with Session(engine) as s:
        doc = Doc(id=1, data={"a": 1}, tags=["x"])
        s.add(doc)
        s.commit()
        doc.data["b"] = 2          # loaded again after the commit, then changed in place
        doc.tags.append("y")
        assert doc in s.dirty
        assert isinstance(doc.data, datamapper.mutable.MutableDict)
        s.commit()
    [(_id, data, tags)] = read_rows(Doc.__table__)
    if isinstance(data, str):  # drivers that return JSON as text
        import json
        data, tags = json.loads(data), json.loads(tags)
    assert (data, tags) == ({"a": 1, "b": 2}, ["x", "y"])

    with Session(engine) as s:
        doc = s.scalars(select(Doc)).one()
        del doc.data["a"]
        s.commit()
        s.expire_all()
        assert doc.data == {"b": 2}


def test_associate_with_a_type_class_tracks_every_column_of_it(metadata, engine):
    class Tally(TypeDecorator[Any]):  # a type of this test only: the association is global
        impl = JSON
        cache_ok = True

    MutableDict.associate_with(Tally)
    Base = _base(metadata)

    class Counter(Base):
        __tablename__ = "sam_counters"
        id: Mapped[int] = mapped_column(primary_key=True)
        counts: Mapped[dict[str, int]] = mapped_column(Tally)

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Counter(id=1, counts={}))
        s.commit()
        c = s.get(Counter, 1)
        c.counts["hits"] = 3
        s.commit()
    with Session(engine) as s:
        assert s.get(Counter, 1).counts == {"hits": 3}


def test_as_mutable_set(metadata, engine):
    class Bag(TypeDecorator[Any]):  # stores a set as a sorted JSON list
        impl = JSON
        cache_ok = True

        def process_bind_param(self, value: Any, dialect: Any) -> Any:
            return None if value is None else sorted(value)

        def process_result_value(self, value: Any, dialect: Any) -> Any:
            return None if value is None else set(value)

    Base = _base(metadata)

    class Box(Base):
        __tablename__ = "sam_boxes"
        id: Mapped[int] = mapped_column(primary_key=True)
        items: Mapped[set[str]] = mapped_column(MutableSet.as_mutable(Bag))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Box(id=1, items={"a"}))
        s.commit()
        box = s.get(Box, 1)  # held: the identity map is weak
        box.items.add("b")
        s.commit()
    with Session(engine) as s:
        assert s.get(Box, 1).items == {"a", "b"}


def test_a_program_mutable_class_from_sqlalchemy_is_refused_by_name(metadata):
    class Settings(Mutable, dict[str, Any]):
        @classmethod
        def coerce(cls, key: str, value: Any) -> Any:
            return value if isinstance(value, cls) else cls(value)

        def __setitem__(self, key: str, value: Any) -> None:
            dict.__setitem__(self, key, value)
            self.changed()

    Base = _base(metadata)

    class Account(Base):
        __tablename__ = "sam_accounts"
        id: Mapped[int] = mapped_column(primary_key=True)
        prefs: Mapped[dict[str, Any]] = mapped_column(Settings.as_mutable(JSON))

    try:
        with pytest.raises(ArgumentError,
                           match=r"Account\.prefs.*Settings.*datamapper\.mutable"):
            configure_mappers()
        with pytest.raises(ArgumentError, match="Account.prefs"):  # stays refused
            configure_mappers()
    finally:
        Base.registry.dispose()  # the refused mapper would fail every later configure
