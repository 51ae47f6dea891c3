"""``Session.get()`` of an object already loaded answers from the identity map without
entering the general path, for every way of mapping a class (declarative base with
its metaclass, DeclarativeBase, imperative mapping)."""

import pytest
from sqlalchemy import Column, Integer, String, Table
from sqlalchemy import ForeignKey as sa_fk

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


@pytest.mark.sqlite_only
def test_get_miss_of_a_plain_class_runs_one_select_without_the_general_path(
        metadata, engine, monkeypatch, sql_log, read_rows):
    """A key not in the identity map: one SELECT by primary key, the row's object
    returned and kept in the map (a second get() runs no SQL)."""
    classes = _classes(metadata)
    metadata.create_all(engine)
    with Session(engine) as s:
        objs = [cls() for cls in classes]
        for o in objs:
            o.id = 1
        s.add_all(objs)
        s.commit()
    assert [read_rows(t) for t in ("SELECT * FROM a", "SELECT * FROM b", "SELECT * FROM c")] \
        == [[(1,)], [(1,)], [(1, None)]]

    def refuse(*a, **k):
        raise AssertionError("get() of a plain miss took the general path")

    with Session(engine) as s:
        sql_log.clear()
        monkeypatch.setattr(Session, "_get_impl", refuse)
        monkeypatch.setattr("datamapper.session.get.SessionGet._get_impl", refuse)
        got = [s.get(cls, 1) for cls in classes]
        assert [type(o) for o in got] == list(classes)
        assert sql_log.count == 3
        assert all(st.startswith("SELECT") and "WHERE" in st for st in sql_log.statements)
        assert [s.get(cls, 2) for cls in classes] == [None, None, None]
        assert sql_log.count == 6
        assert [s.get(cls, 1) for cls in classes] == got  # the identity map now
        assert sql_log.count == 6


@pytest.mark.sqlite_only
def test_get_miss_flushes_a_pending_object_first_and_returns_it(metadata, engine, sql_log,
                                                                read_rows):
    A, _B, _C = _classes(metadata)
    metadata.create_all(engine)
    with Session(engine) as s:
        a = A()
        a.id = 5
        s.add(a)
        sql_log.clear()
        assert s.get(A, 5) is a  # autoflush: INSERT, then the SELECT finds it
        assert [st.split()[0] for st in sql_log.statements] == ["INSERT", "SELECT"]
        s.commit()
    assert read_rows(A.__table__) == [(5,)]


@pytest.mark.sqlite_only
def test_get_of_a_subclass_finds_the_object_loaded_through_its_base(metadata, engine,
                                                                    sql_log):
    """A subclass's objects are kept in the identity map under the base class: get() of
    the subclass finds one loaded as the base without SQL, and one of another subclass
    is None, also without SQL."""
    Base = declarative_base(metadata=metadata)

    class Person(Base):
        __tablename__ = "person"
        id = Column(Integer, primary_key=True)
        kind = Column(String(10))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "engineer"
        id = Column(Integer, sa_fk("person.id"), primary_key=True)
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "manager"
        id = Column(Integer, sa_fk("person.id"), primary_key=True)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Engineer(id=1), Manager(id=2)])
        s.commit()
    with Session(engine) as s:
        e = s.get(Person, 1)
        m = s.get(Person, 2)
        assert type(e) is Engineer and type(m) is Manager
        sql_log.clear()
        assert s.get(Engineer, 1) is e
        assert s.get(Manager, 2) is m
        assert s.get(Manager, 1) is None
        assert sql_log.count == 0
