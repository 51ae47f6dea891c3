"""A write-only relationship as a type checker sees it in a user program."""

from __future__ import annotations

from typing import reveal_type

from sqlalchemy import ForeignKey, create_engine

from datamapper import (
    DeclarativeBase,
    Mapped,
    Session,
    WriteOnlyCollection,
    WriteOnlyMapped,
    mapped_column,
    relationship,
)


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    entries: WriteOnlyMapped[Entry] = relationship(order_by="Entry.id")


class Entry(Base):
    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))


def add_entries(coll: WriteOnlyCollection[Entry], amounts: list[int]) -> None:
    coll.add_all(Entry(amount=a) for a in amounts)


engine = create_engine("sqlite://")
with Session(engine) as session:
    account = Account(entries=[Entry(amount=1)])
    reveal_type(account.entries)  # E: datamapper.mapping.writeonly.WriteOnlyCollection[writeonly_ok.Entry]
    account.entries.add(Entry(amount=2))
    add_entries(account.entries, [3, 4])
    session.add(account)
    session.flush()
    reveal_type(account.entries.select())  # E: sqlalchemy.sql.selectable.Select[writeonly_ok.Entry]
    reveal_type(session.scalars(account.entries.select()).all())  # E: typing.Sequence[writeonly_ok.Entry]
    session.execute(account.entries.insert(), [{"amount": 5}])
    session.execute(account.entries.update().values(amount=Entry.amount + 1))
    session.execute(account.entries.delete().where(Entry.amount > 4))
    account.entries.remove(Entry(amount=9))
