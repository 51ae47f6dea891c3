"""A class attribute of the program's own (a method, a ``@property``, a hybrid, a
class-level constant) named like a column of the table it is mapped to is kept:
the column is left unmapped, as SQLAlchemy does, instead of being mapped over the
program's attribute.  Columns declared on a declarative class (in its body, its
mixins or its annotations) are mapped on purpose, whatever a base class holds
under that name; a ``None`` class default doesn't count; a column given under
another name in ``properties`` is mapped there.  Rows are read back on a
separate connection."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, String, Table
from sqlalchemy.ext.hybrid import hybrid_property

from datamapper import DeclarativeBase, Session, inspect, registry


@pytest.fixture
def table(metadata, engine):
    t = Table("ua_items", metadata, Column("id", Integer, primary_key=True),
              Column("label", String(30)), Column("size", Integer))
    metadata.create_all(engine)
    return t


@pytest.mark.parametrize("value", [
    "a string", 5, {"a": 1}, property(lambda self: "computed"),
    hybrid_property(lambda self: "hybrid"),
], ids=["str", "int", "dict", "property", "hybrid"])
def test_a_class_attribute_keeps_its_column_unmapped(table, engine, read_rows, value):
    class Item:
        label = value

        def size(self) -> str:  # a method named like the other column
            return "method"

    mapper = registry().map_imperatively(Item, table)
    assert set(mapper.column_attrs.keys()) == {"id"}
    item = Item()
    assert item.size() == "method"
    assert Item.__dict__["label"] is value
    if not isinstance(value, (property, hybrid_property)):
        assert item.label == value
    with Session(engine) as s:
        s.add(item)
        s.commit()
        assert item.size() == "method"
    assert read_rows(table) == [(1, None, None)]


def test_a_none_default_or_a_column_maps_the_column(table, engine, read_rows):
    class Item:
        label = None
        size = table.c.size

    mapper = registry().map_imperatively(Item, table)
    assert set(mapper.column_attrs.keys()) == {"id", "label", "size"}
    with Session(engine) as s:
        s.add(Item(label="a", size=3))
        s.commit()
    assert read_rows(table) == [(1, "a", 3)]


def test_the_column_can_be_mapped_under_another_name(table, engine, read_rows):
    class Item:
        @property
        def label(self) -> str:
            return self._label.upper()

    registry().map_imperatively(Item, table, properties={"_label": table.c.label})
    item = Item(_label="low", size=1)
    assert item.label == "LOW"
    with Session(engine) as s:
        s.add(item)
        s.commit()
        assert s.get(Item, 1).label == "LOW"
    assert read_rows(table) == [(1, "low", 1)]


def test_declarative_with_a_table_keeps_the_method(table, engine, read_rows):
    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __table__ = table

        def size(self) -> str:
            return "method"

    assert "size" not in inspect(Item).column_attrs.keys()
    with Session(engine) as s:
        s.add(Item(label="x"))
        s.commit()
        assert s.get(Item, 1).size() == "method"
    assert read_rows(table) == [(1, "x", None)]


def test_a_declared_column_is_mapped_over_a_base_attribute(metadata, engine, read_rows):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Named:
        label = "mixin constant"

    class Item(Base, Named):
        __tablename__ = "ua_declared"
        id = Column(Integer, primary_key=True)
        label = Column(String(30))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Item(label="mapped"))
        s.commit()
        assert s.get(Item, 1).label == "mapped"
    assert read_rows(Item.__table__) == [(1, "mapped")]
