"""Relationships whose shape comes from their ``Mapped[...]`` annotation: keyed
dictionary collections, and mixins that give each class its relationship and
association proxy through ``declared_attr``.

Annotations are evaluated here (no ``from __future__ import annotations``).
"""

from typing import Dict, TypeVar  # noqa: UP035 - the typing spelling users write

import pytest
from sqlalchemy import ForeignKey, String

from datamapper import (
    DeclarativeBase,
    KeyFuncDict,
    Mapped,
    Session,
    attribute_keyed_dict,
    declared_attr,
    mapped_column,
    relationship,
)
from datamapper.associationproxy import AssociationProxy, association_proxy


@pytest.fixture
def Base(metadata):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}  # noqa: RUF012 - (MySQL needs a length)

    Base.registry.metadata = metadata
    Base.metadata = metadata
    return Base


_V = TypeVar("_V")


class ByName(KeyFuncDict[str, _V]):
    """A keyed dictionary class of the program's, generic in its value type only."""


@pytest.mark.parametrize("spelling", ["keyfuncdict", "typing_dict", "one_arg_class"])
def test_keyed_dictionary_annotation_with_its_collection_class_persists_by_key(
        Base, metadata, engine, read_rows, spelling):
    class A(Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)
        if spelling == "keyfuncdict":
            bs: Mapped[KeyFuncDict[str, "B"]] = relationship(  # noqa: UP037
                collection_class=attribute_keyed_dict("name"))
        elif spelling == "typing_dict":
            bs: Mapped[Dict[str, "B"]] = relationship(  # noqa: UP006, UP037
                collection_class=attribute_keyed_dict("name"))
        else:
            bs: Mapped[ByName["B"]] = relationship(  # noqa: UP037
                collection_class=attribute_keyed_dict("name"))

    class B(Base):
        __tablename__ = "b"
        id: Mapped[int] = mapped_column(primary_key=True)
        a_id: Mapped[int] = mapped_column(ForeignKey("a.id"))
        name: Mapped[str]

    metadata.create_all(engine)
    a1 = A(id=1)
    b1, b2 = B(id=1, name="foo"), B(id=2, name="bar")
    a1.bs.set(b1)
    a1.bs["bar"] = b2
    assert a1.bs["foo"] is b1
    with Session(engine) as s:
        s.add(a1)
        s.commit()
    assert read_rows(B.__table__) == [(1, 1, "foo"), (2, 1, "bar")]
    with Session(engine) as s:
        got = s.get(A, 1)
        assert sorted((k, b.id) for k, b in got.bs.items()) == [("bar", 2), ("foo", 1)]


@pytest.mark.parametrize("directive", [True, False])
def test_mixin_declared_attr_association_proxy_is_made_for_each_class(
        Base, metadata, engine, directive):
    class User(Base):
        __tablename__ = "user"
        id: Mapped[int] = mapped_column(primary_key=True)
        thing_id: Mapped[int] = mapped_column(ForeignKey("thing.id"))

    make = declared_attr.directive if directive else declared_attr

    class Mixin:
        id: Mapped[int] = mapped_column(primary_key=True)

        @declared_attr
        def users(cls) -> Mapped[list[User]]:
            return relationship(User)

        @make
        def user_ids(cls) -> AssociationProxy[list[int]]:
            return association_proxy("users", "id")

    class Thing(Mixin, Base):
        __tablename__ = "thing"

    metadata.create_all(engine)
    t1 = Thing(id=1)
    t1.users.extend([User(id=1), User(id=2)])
    assert t1.user_ids == [1, 2]
    with Session(engine) as s:
        s.add(t1)
        s.commit()
    with Session(engine) as s:
        assert s.get(Thing, 1).user_ids == [1, 2]


def test_relationship_annotation_reads_as_mapped(Base, metadata, engine, read_rows):
    from datamapper import Relationship

    class B(Base):
        __tablename__ = "b"
        id: Mapped[int] = mapped_column(primary_key=True)
        a_id: Mapped[int] = mapped_column(ForeignKey("a.id"))

    class A(Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)
        bs: Relationship[list[B]] = relationship()

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(A(id=1, bs=[B(id=1), B(id=2)]))
        s.commit()
    assert read_rows(B.__table__) == [(1, 1), (2, 1)]
    assert A.bs.property.uselist is True


def test_relationship_written_directly_on_a_mixin_is_refused_for_a_second_class(Base):
    from sqlalchemy.exc import InvalidRequestError

    class Related(Base):
        __tablename__ = "related"
        id: Mapped[int] = mapped_column(primary_key=True)

    class HasRelated:
        related_id: Mapped[int] = mapped_column(ForeignKey("related.id"))
        related: Mapped[Related] = relationship()

    class A(HasRelated, Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(InvalidRequestError, match=r"B\.related.*A.*declared_attr"):
        class B(HasRelated, Base):
            __tablename__ = "b"
            id: Mapped[int] = mapped_column(primary_key=True)
    assert "b" not in Base.metadata.tables
    assert A.related.property.parent.class_ is A
