"""SQLAlchemy ORM models of the benchmark, idiomatic 2.x declarative style.

Reference implementation only: these use ``sqlalchemy.orm``, which the
datamapper package itself must never import. The tables are the ones in
``backends.py`` (created there through Core); these classes only map them.
"""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "bench_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    value: Mapped[int]
    score: Mapped[float]
    note: Mapped[str | None] = mapped_column(String(100))


class Child(Base):
    __tablename__ = "bench_child"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("bench_parent.id"))
    name: Mapped[str] = mapped_column(String(50))
    value: Mapped[int]


class Parent(Base):
    __tablename__ = "bench_parent"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    children: Mapped[list[Child]] = relationship()
