"""A mixin's ``declared_attr`` that reads the class's other attributes
(``column_property(cls.x + cls.y)``) reads the columns of the class being mapped,
not the mixin's nor another class's; each declared_attr runs once per class, so two
reading one another get the very Column the table has."""

import pytest
from sqlalchemy import Column, Integer, String, select

from datamapper import Mapped, column_property, declared_attr, mapped_column


def _mixin(style):
    if style == "column":
        class SumMixin:
            x = Column(Integer)
            y = Column(Integer)

            @declared_attr
            def x_plus_y(cls):
                return column_property(cls.x + cls.y)
    elif style == "mapped_column":
        class SumMixin:
            x = mapped_column(Integer)
            y = mapped_column(Integer)

            @declared_attr
            def x_plus_y(cls):
                return column_property(cls.x + cls.y)
    else:
        class SumMixin:
            x: Mapped[int]
            y: Mapped[int] = mapped_column()

            @declared_attr
            def x_plus_y(cls) -> Mapped[int]:
                return column_property(cls.x + cls.y)
    return SumMixin


@pytest.mark.parametrize("style", ["column", "mapped_column", "annotation"])
def test_column_property_over_mixin_columns_reads_each_class_table(Base, engine,
                                                                   make_session, style):
    SumMixin = _mixin(style)

    class One(SumMixin, Base):
        __tablename__ = "dr_one"
        id = Column(Integer, primary_key=True)

    class Two(SumMixin, Base):
        __tablename__ = "dr_two"
        id = Column(Integer, primary_key=True)

    assert str(select(Two.x_plus_y)).split() == \
        "SELECT dr_two.x + dr_two.y AS anon_1 FROM dr_two".split()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([One(id=1, x=1, y=2), Two(id=1, x=10, y=20)])
    s.commit()
    s.close()
    s = make_session()
    assert s.get(One, 1).x_plus_y == 3
    assert s.get(Two, 1).x_plus_y == 30
    assert s.scalars(select(Two.id).where(Two.x_plus_y == 30)).all() == [1]


def test_declared_attr_column_read_by_another_declared_attr_is_the_table_column(
        Base, engine, make_session):
    calls = []

    class Mixin:
        @declared_attr
        def name(cls):
            calls.append(cls.__name__)
            return Column(String(20))

        @declared_attr
        def upper_name(cls):
            from sqlalchemy import func
            return column_property(func.upper(cls.name))

    class Thing(Mixin, Base):
        __tablename__ = "dr_things"
        id = Column(Integer, primary_key=True)

    assert calls == ["Thing"]
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Thing(id=1, name="ed"))
    s.commit()
    s.close()
    s = make_session()
    assert s.get(Thing, 1).upper_name == "ED"


@pytest.mark.parametrize("style", ["column", "mapped_column", "annotation"])
def test_self_referencing_foreign_key_made_from_cls_column_in_declared_attr(
        Base, engine, make_session, read_rows, style):
    # a tree mixin: parent_id = ForeignKey(cls.id) names each class's own id column
    from typing import Optional

    from sqlalchemy import ForeignKey

    if style == "column":
        class TreeMixin:
            id = Column(Integer, primary_key=True)

            @declared_attr
            def parent_id(cls):
                return Column(Integer, ForeignKey(cls.id))
    elif style == "mapped_column":
        class TreeMixin:
            id = mapped_column(Integer, primary_key=True)

            @declared_attr
            def parent_id(cls):
                return mapped_column(Integer, ForeignKey(cls.id))
    else:
        class TreeMixin:
            id: Mapped[int] = mapped_column(primary_key=True)

            @declared_attr
            def parent_id(cls) -> Mapped[Optional[int]]:  # noqa: UP045
                return mapped_column(ForeignKey(cls.id))

    class Folder(TreeMixin, Base):
        __tablename__ = "dr_folders"

    class Topic(TreeMixin, Base):
        __tablename__ = "dr_topics"

    for cls in (Folder, Topic):
        (fk,) = cls.__table__.c.parent_id.foreign_keys
        assert fk.column is cls.__table__.c.id
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Folder(id=1), Folder(id=2, parent_id=1), Topic(id=5), Topic(id=6, parent_id=5)])
    s.commit()
    assert read_rows(Folder.__table__) == [(1, None), (2, 1)]
    assert read_rows(Topic.__table__) == [(5, None), (6, 5)]
