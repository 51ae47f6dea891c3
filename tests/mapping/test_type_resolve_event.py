"""The registry event ``resolve_type_annotation``: a listener picks the SQL type of a
``Mapped[...]`` annotation before the ``type_annotation_map`` is consulted, and
PEP 695 type aliases (``type X = ...``, here ``typing_extensions.TypeAliasType``)
in annotations.

Annotations are evaluated (no ``from __future__ import annotations``) so that the
aliases built inside the tests are visible to the class bodies.
"""

from typing import Annotated, Any, Optional, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy import Float, Integer, String
from sqlalchemy.exc import InvalidRequestError
from typing_extensions import TypeAliasType

from datamapper import (
    DeclarativeBase,
    Mapped,
    Session,
    TypeResolve,
    declarative_base,
    event,
    mapped_column,
    registry,
)


class Money:
    """A Python type no type map knows."""


def _db_type(engine, table: str, column: str) -> Any:
    cols = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns(table)}
    return cols[column]


def test_listener_on_registry_gives_the_column_type_the_database_gets(metadata, engine):
    reg = registry(metadata=metadata)
    Base = reg.generate_base()
    seen: list[tuple[str, Any]] = []

    @event.listens_for(reg, "resolve_type_annotation")
    def resolve(tr: TypeResolve) -> Any:
        seen.append((tr.key, tr.resolved_type))
        if tr.resolved_type is Money:
            return String(20)
        return None

    class Account(Base):
        __tablename__ = "tr_account"
        id: Mapped[int] = mapped_column(primary_key=True)
        balance: Mapped[Optional[Money]]  # noqa: UP045 - Optional is what is tested

    assert seen == [("id", int), ("balance", Money)]
    assert isinstance(Account.__table__.c.id.type, Integer)  # None: the type map decides
    col = Account.__table__.c.balance
    assert isinstance(col.type, String) and col.type.length == 20
    assert col.nullable is True
    metadata.create_all(engine)
    db_type = _db_type(engine, "tr_account", "balance")
    assert isinstance(db_type, sa.String) and db_type.length == 20
    with Session(engine) as s:
        s.add(Account(balance="12.50"))
        s.commit()
        assert s.scalars(sa.select(Account.balance)).all() == ["12.50"]


@pytest.mark.parametrize("base_kind", ["DeclarativeBase", "declarative_base"])
def test_listener_on_a_declarative_base_goes_to_its_registry(metadata, base_kind):
    if base_kind == "DeclarativeBase":
        class Base(DeclarativeBase):
            pass
    else:
        Base = declarative_base(metadata=metadata)

    @event.listens_for(Base, "resolve_type_annotation")
    def resolve(tr: TypeResolve) -> Any:
        assert tr.registry is Base.registry
        assert tr.cls.__name__ == "Item"
        if tr.resolved_type is Money:
            return Integer  # a type class: instantiated for the column
        return None

    class Item(Base):
        __tablename__ = "tr_item"
        id: Mapped[int] = mapped_column(primary_key=True)
        price: Mapped[Money]

    assert isinstance(Item.__table__.c.price.type, Integer)
    assert event.contains(Base, "resolve_type_annotation", resolve)
    event.remove(Base, "resolve_type_annotation", resolve)
    assert not event.contains(Base.registry, "resolve_type_annotation", resolve)


def test_listener_wins_over_the_type_map_and_resolve_uses_the_map():
    reg = registry(type_annotation_map={str: String(70)})
    Base = reg.generate_base()

    @event.listens_for(reg, "resolve_type_annotation")
    def resolve(tr: TypeResolve) -> Any:
        if tr.key == "direct":
            return String(50)
        if tr.key == "reentrant":
            return tr.resolve(str)
        return None

    class Thing(Base):
        __tablename__ = "tr_thing"
        id: Mapped[int] = mapped_column(primary_key=True)
        direct: Mapped[str]
        reentrant: Mapped[float]
        plain: Mapped[str]

    c = Thing.__table__.c
    assert c.direct.type.length == 50
    assert isinstance(c.reentrant.type, String) and c.reentrant.type.length == 70
    assert c.plain.type.length == 70


def test_no_listener_no_change():
    reg = registry()
    Base = reg.generate_base()

    class Plain(Base):
        __tablename__ = "tr_plain"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]

    assert isinstance(Plain.__table__.c.name.type, String)


def test_type_resolve_describes_pep_593_and_695_layers():
    reg = registry()
    Base = reg.generate_base()
    T = TypeVar("T")
    Measure = Annotated[float, mapped_column()]
    Alias = TypeAliasType("Alias", float)
    AliasOfAnnotated = TypeAliasType("AliasOfAnnotated", Annotated[float, mapped_column()])
    Generic = TypeAliasType("Generic", Annotated[T, mapped_column()], type_params=(T,))
    Compound = TypeAliasType("Compound", Annotated[T | float, mapped_column()],
                             type_params=(T,))
    seen: dict[str, TypeResolve] = {}

    @event.listens_for(reg, "resolve_type_annotation")
    def resolve(tr: TypeResolve) -> Any:
        seen[tr.key] = tr
        return String(10)

    class Layers(Base):
        __tablename__ = "tr_layers"
        id: Mapped[int] = mapped_column(primary_key=True)
        a: Mapped[Measure]
        b: Mapped[Alias]
        c: Mapped[AliasOfAnnotated]
        d: Mapped[Optional[Generic[str]]]  # noqa: UP045
        e: Mapped[Compound[str]]

    a, b, c, d, e = (seen[k] for k in "abcde")
    assert a.resolved_type is float and a.pep_593_resolved_argument is float
    assert a.raw_pep_593_type.__args__[0] is float and a.raw_pep_695_type is None
    assert b.raw_pep_695_type is Alias and b.pep_695_resolved_value is float
    assert b.resolved_type is float and b.raw_pep_593_type is None
    assert c.raw_pep_695_type is AliasOfAnnotated and c.pep_593_resolved_argument is float
    assert c.resolved_type is float
    assert d.raw_pep_695_type.__origin__ is Generic and d.pep_593_resolved_argument is str
    assert d.resolved_type is str
    assert Layers.__table__.c.d.nullable is True
    assert e.pep_593_resolved_argument == str | float and e.resolved_type == str | float
    assert all(isinstance(col.type, String) for col in list(Layers.__table__.c)[1:])


def test_pep_695_alias_resolves_through_its_value_or_the_type_map(metadata, engine):
    Ratio = TypeAliasType("Ratio", float)
    Code = TypeAliasType("Code", str)
    MaybeNote = TypeAliasType("MaybeNote", Optional[str])  # noqa: UP045
    reg = registry(metadata=metadata, type_annotation_map={Code: String(8), str: String(30)})
    Base = reg.generate_base()

    class Row(Base):
        __tablename__ = "tr_row"
        id: Mapped[int] = mapped_column(primary_key=True)
        ratio: Mapped[Ratio]
        code: Mapped[Code]
        note: Mapped[MaybeNote]

    c = Row.__table__.c
    assert isinstance(c.ratio.type, Float) and c.ratio.nullable is False
    assert c.code.type.length == 8
    assert c.note.type.length == 30 and c.note.nullable is True
    metadata.create_all(engine)
    assert _db_type(engine, "tr_row", "code").length == 8
    assert _db_type(engine, "tr_row", "note").length == 30


def test_listening_on_a_mapped_class_says_where_to_listen(metadata):
    reg = registry(metadata=metadata)
    Base = reg.generate_base()

    class Mapped1(Base):
        __tablename__ = "tr_mapped1"
        id: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(InvalidRequestError, match="registry or a declarative base"):
        event.listen(Mapped1, "resolve_type_annotation", lambda tr: None)
