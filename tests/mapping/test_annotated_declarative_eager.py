"""Annotated declarative mapping with evaluated annotations (no ``from __future__ import
annotations``): ``Mapped[...]`` objects, quoted forward references inside them."""

import typing
from typing import Optional

import sqlalchemy as sa
from sqlalchemy import ForeignKey, String

from datamapper import DeclarativeBase, Mapped, Session, mapped_column, relationship


def test_evaluated_annotations_with_quoted_forward_references(metadata, engine, read_rows):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        nick: Mapped[Optional[str]]  # noqa: UP045 - the Optional spelling is what is tested
        addresses: Mapped[typing.List["Address"]] = relationship(back_populates="user")  # noqa: UP006
        tags: Mapped[set["Tag"]] = relationship()

    class Address(Base):
        __tablename__ = "addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
        user: Mapped["User"] = relationship(back_populates="addresses")

    class Tag(Base):
        __tablename__ = "tags"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # noqa: UP045

    assert User.__table__.c.name.nullable is False and User.__table__.c.nick.nullable is True
    assert isinstance(User.__table__.c.nick.type, sa.String)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        u = User(name="ed", addresses=[Address()])
        u.tags.add(Tag())
        s.add(u)
        s.commit()
        assert User.addresses.property.collection_class is list
        assert Address.user.property.uselist is False
    assert read_rows(User.__table__) == [(1, "ed", None)]
    assert read_rows(Address.__table__) == [(1, 1)]
    assert read_rows(Tag.__table__) == [(1, 1)]
