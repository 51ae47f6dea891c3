"""``orm_insert_sentinel()``: a declarative class's table gets Core's insert
sentinel column (nullable, Integer unless told otherwise) which the class does not
map; a batched ``INSERT ... RETURNING`` with ``sort_by_parameter_order=True`` then
returns its objects in parameter order, also for a joined-inheritance subclass
whose own table can't be sorted by a generated key."""

import uuid

import pytest
from sqlalchemy import ForeignKey, Integer, String, event, insert, inspect, select

import datamapper
from datamapper import (
    DeclarativeBase,
    Mapped,
    MappedAsDataclass,
    mapped_column,
    orm_insert_sentinel,
)


@pytest.fixture
def Base(metadata):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}  # noqa: RUF012 - (MySQL needs a length)

    Base.registry.metadata = metadata
    Base.metadata = metadata
    return Base


@pytest.fixture
def AB(Base, engine):
    class A(Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)
        type: Mapped[str] = mapped_column()
        data: Mapped[str]
        _sentinel: Mapped[int] = orm_insert_sentinel()
        __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "a"}  # noqa: RUF012

    class B(A):
        __tablename__ = "b"
        id: Mapped[int] = mapped_column(ForeignKey("a.id"), primary_key=True)
        bd: Mapped[str]
        _sentinel: Mapped[int] = orm_insert_sentinel()
        __mapper_args__ = {"polymorphic_identity": "b"}  # noqa: RUF012

    Base.metadata.create_all(engine)
    return A, B


def test_orm_insert_sentinel_is_a_public_name():
    assert datamapper.orm_insert_sentinel is orm_insert_sentinel
    assert "orm_insert_sentinel" in datamapper.__all__


def test_sentinel_column_is_in_the_table_but_not_mapped(AB):
    A, B = AB
    for cls in (A, B):
        col = cls.__table__.c._sentinel
        assert col.nullable and isinstance(col.type, Integer)
        assert col.default is not None  # Core's sentinel counter
        assert "_sentinel" not in inspect(cls).attrs
    assert not hasattr(A, "_sentinel")
    assert "_sentinel" not in str(select(A))


def test_flush_and_load_leave_the_sentinel_alone(AB, session, read_rows):
    A, B = AB
    session.add_all([A(data="a1"), B(data="b1", bd="x")])
    session.commit()
    session.expunge_all()
    assert sorted((o.type, o.data) for o in session.scalars(select(A))) == [
        ("a", "a1"), ("b", "b1")]
    assert read_rows("SELECT data FROM a ORDER BY id") == [("a1",), ("b1",)]


def test_batched_insert_returning_sorted_by_parameter_order(AB, session, backend_name,
                                                            engine, read_rows):
    if backend_name == "mysql":
        pytest.skip("no INSERT ... RETURNING on MariaDB/MySQL")
    A, B = AB
    sent = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cur, stmt, params, ctx, many: sent.append(stmt))
    rows = [{"data": f"d{i}", "bd": f"b{i}"} for i in range(5)]
    objs = session.scalars(insert(B).returning(B, sort_by_parameter_order=True), rows).all()
    assert [(o.data, o.bd) for o in objs] == [(r["data"], r["bd"]) for r in rows]
    assert all(type(o) is B for o in objs)
    session.commit()
    assert read_rows("SELECT a.data, b.bd FROM a JOIN b ON a.id = b.id ORDER BY a.id") == [
        (r["data"], r["bd"]) for r in rows]
    # the base table's batch carried the sentinel to sort the generated keys by
    assert any(s.startswith("INSERT INTO a") and "_sentinel" in s for s in sent)


def test_sentinel_with_client_side_key_default(Base, engine, session, backend_name):
    if backend_name == "mysql":
        pytest.skip("no INSERT ... RETURNING on MariaDB/MySQL")

    class C(Base):
        __tablename__ = "c"
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
        data: Mapped[str]
        sent = orm_insert_sentinel("sent_col")  # no annotation: Integer

    Base.metadata.create_all(engine)
    assert isinstance(C.__table__.c.sent_col.type, Integer)
    rows = [{"data": f"d{i}"} for i in range(4)]
    objs = session.scalars(insert(C).returning(C, sort_by_parameter_order=True), rows).all()
    assert [o.data for o in objs] == ["d0", "d1", "d2", "d3"]


def test_sentinel_type_from_annotation_or_argument(Base):
    class D1(Base):
        __tablename__ = "d1"
        id: Mapped[int] = mapped_column(primary_key=True)
        s1: Mapped[str] = orm_insert_sentinel()

    class D2(Base):
        __tablename__ = "d2"
        id: Mapped[int] = mapped_column(primary_key=True)
        s2: Mapped[int] = orm_insert_sentinel("s_two", String(20))

    assert isinstance(D1.__table__.c.s1.type, String)
    assert isinstance(D2.__table__.c.s_two.type, String)
    assert D1.__table__.c.s1.nullable and D2.__table__.c.s_two.nullable


def test_dataclass_takes_no_field_for_the_sentinel(metadata):
    class DBase(MappedAsDataclass, DeclarativeBase):
        pass

    DBase.registry.metadata = metadata

    class E(DBase):
        __tablename__ = "e"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        x: Mapped[int]
        _sentinel: Mapped[int] = orm_insert_sentinel()

    e = E(x=1)
    assert e.x == 1
    assert "_sentinel" in E.__table__.c
