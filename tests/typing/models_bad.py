"""Deliberate type errors that mypy --strict must report (checked by test_typing.py):
each line marked ``# error: <code>`` must be flagged with that error code."""

from __future__ import annotations

from sqlalchemy import ForeignKey

from datamapper import DeclarativeBase, Mapped, mapped_column, relationship


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
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship(back_populates="addresses")


u = User()
u.id = "seven"  # error: assignment
u.name = None  # error: assignment
count: str = u.id  # error: assignment
u.addresses.append(u)  # error: arg-type
a = Address()
a.user = a  # error: assignment

from datamapper import Session, select  # noqa: E402

with Session() as s:
    found = s.get(User, 1)
    found.name  # error: union-attr
    n: int = s.scalars(select(User)).one()  # error: assignment
    s.query(User).one().nope  # error: attr-defined
