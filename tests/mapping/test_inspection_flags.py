"""What ``inspect()`` returns tells what it is, as SQLAlchemy's inspection objects do:
tools (admin screens, serializers) branch on ``is_mapper``, ``is_instance``,
``is_aliased_class``, ``is_attribute``, ``is_property`` and ``extension_type``."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, inspect
from sqlalchemy.ext.hybrid import hybrid_property

from datamapper import (
    DeclarativeBase,
    InspectionAttr,
    Mapped,
    NotExtension,
    aliased,
    mapped_column,
    relationship,
    synonym,
)
from datamapper.associationproxy import AssociationProxyExtensionType, association_proxy

FLAGS = ("is_mapper", "is_instance", "is_aliased_class", "is_attribute", "is_property",
         "is_selectable", "is_bundle", "is_clause_element")


def _models():
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}

    class Person(Base):
        __tablename__ = "if_people"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        nick = synonym("name")
        pets: Mapped[list[Pet]] = relationship()
        pet_names = association_proxy("pets", "name")

        @hybrid_property
        def shout(self) -> str:
            return self.name.upper()

    class Pet(Base):
        __tablename__ = "if_pets"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        owner_id: Mapped[int] = mapped_column(ForeignKey("if_people.id"))

    return Person, Pet


def _true_flags(obj: object) -> set[str]:
    return {f for f in FLAGS if getattr(obj, f) is True}


def test_each_inspection_object_raises_exactly_its_own_flag():
    Person, _Pet = _models()
    cases = {
        "mapper": (inspect(Person), {"is_mapper"}),
        "state": (inspect(Person(name="a")), {"is_instance"}),
        "alias": (inspect(aliased(Person)), {"is_aliased_class"}),
        "attribute": (Person.name, {"is_attribute"}),
        "relationship attribute": (Person.pets, {"is_attribute"}),
        "column property": (Person.name.property, {"is_property"}),
        "relationship property": (Person.pets.property, {"is_property"}),
        "synonym property": (inspect(Person).synonyms["nick"], {"is_property"}),
    }
    for label, (obj, flags) in cases.items():
        assert isinstance(obj, InspectionAttr), label
        assert _true_flags(obj) == flags, label


def test_extension_type_of_all_orm_descriptors():
    Person, _Pet = _models()
    kinds = {k: v.extension_type for k, v in inspect(Person).all_orm_descriptors.items()}
    assert kinds["id"] is kinds["pets"] is kinds["nick"] is NotExtension.NOT_EXTENSION
    assert kinds["pet_names"] is AssociationProxyExtensionType.ASSOCIATION_PROXY
    assert kinds["shout"].name == "HYBRID_PROPERTY"


def test_synonym_original_property_and_with_polymorphic_mappers():
    Person, _Pet = _models()
    assert Person.nick.original_property is inspect(Person).synonyms["nick"]
    assert inspect(Person).with_polymorphic_mappers == []
