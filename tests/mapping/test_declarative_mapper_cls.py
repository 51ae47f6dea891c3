"""``__mapper_cls__`` (or ``declarative_base(mapper=...)``) makes a declarative class's
mapper; a ``__table_args__`` that is not a tuple, dict or None is refused by name."""

import pytest
from sqlalchemy import Column, ForeignKeyConstraint, Integer, String

from datamapper import Mapper, declarative_base, exc


def test_declarative_base_mapper_argument_makes_the_mappers(engine, make_session, read_rows):
    made = []

    def make_mapper(cls, table, **kw):
        m = Mapper(cls, table, **kw)
        made.append(m)
        return m

    Base = declarative_base(mapper=make_mapper)

    class Foo(Base):
        __tablename__ = "mc_foo"
        id = Column(Integer, primary_key=True)
        data = Column(String(20))

    assert made == [Foo.__mapper__]
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Foo(id=1, data="x"))
    s.commit()
    assert read_rows(Foo.__table__) == [(1, "x")]


def test_mapper_cls_attribute_is_a_mapper_subclass(Base):
    class CheckedMapper(Mapper):
        checked = True

    class Foo(Base):
        __tablename__ = "mc_foo2"
        __mapper_cls__ = CheckedMapper
        id = Column(Integer, primary_key=True)

    assert type(Foo.__mapper__) is CheckedMapper


def test_table_args_of_another_type_is_refused(Base):
    with pytest.raises(exc.ArgumentError, match="__table_args__ value must be a tuple"):
        class Foo(Base):
            __tablename__ = "mc_foo3"
            __table_args__ = ForeignKeyConstraint(["id"], ["mc_foo3.id"])
            id = Column(Integer, primary_key=True)
