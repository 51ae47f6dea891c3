"""A Column, ``mapped_column()``, ``relationship()`` or ``column_property()`` assigned to
a declarative class after it is mapped (``User.addresses = relationship(Address)``, the
classic tutorial's way) is mapped: a new column joins the class's table, the attribute
joins its mapper and its subclasses'.  Rows are read back on a separate connection."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, select
from sqlalchemy.exc import InvalidRequestError

from datamapper import (
    DeclarativeBase,
    Mapped,
    Session,
    column_property,
    declarative_base,
    inspect,
    mapped_column,
    relationship,
)


def test_columns_and_relationships_added_to_a_hierarchy(metadata, engine, read_rows):
    Base = declarative_base(metadata=metadata)

    class Person(Base):
        __tablename__ = "aa_people"
        id = Column(Integer, primary_key=True)
        kind = Column(String(20))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "aa_engineers"
        id = Column(Integer, ForeignKey("aa_people.id"), primary_key=True)
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Badge(Base):
        __tablename__ = "aa_badges"
        id = Column(Integer, primary_key=True)
        person_id = Column(ForeignKey("aa_people.id"))

    Person.name = Column(String(30))                  # to the base's table
    Engineer.language = Column("lang", String(20))    # to the subclass's table
    Person.badges = relationship(Badge, backref="person", order_by=Badge.id)
    Person.badge_count = column_property(
        select(Badge.id).where(Badge.person_id == Person.id).limit(1).scalar_subquery())

    assert [c.name for c in Person.__table__.c] == ["id", "kind", "name"]
    assert [c.name for c in Engineer.__table__.c] == ["id", "lang"]
    assert "name" in inspect(Engineer).attrs and "badges" in inspect(Engineer).attrs
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Engineer(id=1, name="dilbert", language="java", badges=[Badge(id=7)]))
        s.commit()
    assert read_rows(Person.__table__) == [(1, "engineer", "dilbert")]
    assert read_rows(Engineer.__table__) == [(1, "java")]
    assert read_rows(Badge.__table__) == [(7, 1)]
    with Session(engine) as s:
        p = s.scalars(select(Person)).one()
        assert (type(p), p.name, p.language, p.badge_count) == (Engineer, "dilbert", "java", 7)
        assert p.badges[0].person is p


def test_mapped_column_added_to_an_annotated_class(metadata, engine, read_rows):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Note(Base):
        __tablename__ = "aa_notes"
        id: Mapped[int] = mapped_column(primary_key=True)

    Note.body = mapped_column(String(40), default="empty")
    Note.rank = 3  # a plain class attribute stays a plain class attribute
    assert "rank" not in inspect(Note).attrs
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Note(id=1))
        s.commit()
    assert read_rows(Note.__table__) == [(1, "empty")]


def test_a_class_mapped_to_a_select_takes_no_new_column(metadata):
    Base = declarative_base(metadata=metadata)

    class Thing(Base):
        __tablename__ = "aa_things"
        id = Column(Integer, primary_key=True)

    class ThingView(Base):
        __table__ = select(Thing.__table__).subquery()

    with pytest.raises(InvalidRequestError, match="Can't add column 'extra' to ThingView"):
        ThingView.extra = Column(Integer)


def test_add_mapped_attribute_and_a_base_made_with_the_metaclass(metadata, engine, read_rows):
    from datamapper import DeclarativeMeta, add_mapped_attribute, registry

    reg = registry(metadata=metadata)

    class Base(metaclass=DeclarativeMeta):
        __abstract__ = True
        registry = reg
        metadata = reg.metadata

    class Item(Base):
        __tablename__ = "aa_items"
        id = Column(Integer, primary_key=True)

    add_mapped_attribute(Item, "label", Column("label_text", String(20), key="_label"))
    assert Item.__table__.c["_label"].name == "label_text"
    assert inspect(Item).attrs["label"].columns[0] is Item.__table__.c["_label"]
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Item(id=1, label="x"))
        s.commit()
    assert read_rows(Item.__table__) == [(1, "x")]
    with pytest.raises(Exception, match="not a mapped class"):
        add_mapped_attribute(int, "x", Column(Integer))
