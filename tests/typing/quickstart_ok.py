"""A user program in the annotated style; mypy --strict must accept it and infer the
revealed types (checked by tests/typing/test_typing.py)."""

from __future__ import annotations

from typing import reveal_type

from sqlalchemy import ForeignKey, String, create_engine

from datamapper import DeclarativeBase, Mapped, Session, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
    nick: Mapped[str | None]
    addresses: Mapped[list[Address]] = relationship(back_populates="user")


class Address(Base):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship(back_populates="addresses")


engine = create_engine("sqlite://")
Base.metadata.create_all(engine)
u = User(name="ed")
reveal_type(u.id)  # E: builtins.int
reveal_type(u.nick)  # E: builtins.str | None
reveal_type(u.addresses)  # E: builtins.list[quickstart_ok.Address]
reveal_type(Address(user_id=1).user)  # E: quickstart_ok.User
reveal_type(User.id == 5)  # E: sqlalchemy.sql.elements.ColumnElement[builtins.bool]
reveal_type(User.name.like("e%"))  # E: sqlalchemy.sql.elements.BinaryExpression[builtins.bool]
with Session(engine) as session:
    session.add(u)
    session.commit()
