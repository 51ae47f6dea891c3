"""Session, Query and select() as a type checker sees them in a user program."""

from __future__ import annotations

from typing import reveal_type

import sqlalchemy
from sqlalchemy import ForeignKey, create_engine

from datamapper import DeclarativeBase, Mapped, Session, mapped_column, relationship, select


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    addresses: Mapped[list[Address]] = relationship(back_populates="user")


class Address(Base):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship(back_populates="addresses")


engine = create_engine("sqlite://")
with Session(engine) as session:
    reveal_type(session.get(User, 1))  # E: session_ok.User | None
    reveal_type(session.scalars(select(User)))  # E: sqlalchemy.engine.result.ScalarResult[session_ok.User]
    reveal_type(session.scalars(select(User)).all())  # E: typing.Sequence[session_ok.User]
    reveal_type(session.scalar(select(User.name)))  # E: str | None
    reveal_type(session.scalars(sqlalchemy.select(User)).first())  # E: session_ok.User | None
    for row in session.execute(select(User, Address).join(User.addresses)):
        reveal_type(row)  # E: tuple[session_ok.User, session_ok.Address, fallback=sqlalchemy.engine.row.Row[session_ok.User, session_ok.Address]]
        user, address = row.tuple()
        reveal_type(address)  # E: session_ok.Address
    reveal_type(session.query(User))  # E: datamapper.query.query.Query[session_ok.User]
    reveal_type(session.query(User).filter(User.name == "ed").all())  # E: list[session_ok.User]
    reveal_type(session.query(User).first())  # E: session_ok.User | None
    reveal_type(session.query(User).one())  # E: session_ok.User
    reveal_type(session.merge(User(name="x")))  # E: session_ok.User
    reveal_type(select(User.id, User.name))  # E: sqlalchemy.sql.selectable.Select[int, str]
