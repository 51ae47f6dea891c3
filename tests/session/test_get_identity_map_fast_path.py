"""``Session.get()`` of an object already loaded answers from the identity map without
entering the general path, for every way of mapping a class (declarative base with
its metaclass, DeclarativeBase, imperative mapping)."""

import pytest
from sqlalchemy import Column, Integer, String, Table

from datamapper import DeclarativeBase, Mapped, Session, declarative_base, mapped_column, registry


def _classes(metadata):
    Old = declarative_base(metadata=metadata)

    class A(Old):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)

    class New(DeclarativeBase):
        pass

    New.registry.metadata = metadata
    New.metadata = metadata

    class B(New):
        __tablename__ = "b"
        id: Mapped[int] = mapped_column(primary_key=True)

    class C:
        pass

    registry(metadata=metadata).map_imperatively(
        C, Table("c", metadata, Column("id", Integer, primary_key=True), Column("x", String(5))))
    return A, B, C


@pytest.mark.sqlite_only
def test_get_of_a_loaded_object_skips_the_general_path(metadata, engine, monkeypatch, sql_log):
    classes = _classes(metadata)
    metadata.create_all(engine)
    with Session(engine) as s:
        objs = [cls() for cls in classes]
        for o in objs:
            o.id = 1
        s.add_all(objs)
        s.commit()
        for o in objs:
            o.id  # noqa: B018 - load after the commit expired it
        sql_log.clear()

        def refuse(*a, **k):
            raise AssertionError("get() of a loaded object took the general path")

        monkeypatch.setattr(Session, "_get_impl", refuse)
        for cls, o in zip(classes, objs, strict=True):
            assert s.get(cls, 1) is o
        assert sql_log.count == 0
