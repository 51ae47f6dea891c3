"""A concrete subclass (concrete=True) with a discriminator column of its own table
(polymorphic_on on its own mapper): its rows are written with its identity there, by
a flush, an ORM bulk INSERT and INSERT ... RETURNING, and read back as its class;
the base's queries read the base's table only."""

from typing import Optional

from sqlalchemy import insert, select

from datamapper import DeclarativeBase, Mapped, mapped_column


def test_concrete_subclass_writes_and_reads_its_own_discriminator(engine, make_session,
                                                                  read_rows):
    from sqlalchemy import String

    class Base(DeclarativeBase):
        type_annotation_map = {str: String(30)}

    class A(Base):
        __tablename__ = "conc_a"
        id: Mapped[int] = mapped_column(primary_key=True)
        type: Mapped[str]
        data: Mapped[str]
        __mapper_args__ = {"polymorphic_identity": "a", "polymorphic_on": "type"}

    class B(A):
        __tablename__ = "conc_b"
        id: Mapped[int] = mapped_column(primary_key=True)
        type: Mapped[str]
        data: Mapped[str]
        bd: Mapped[Optional[str]]  # noqa: UP045
        __mapper_args__ = {"polymorphic_identity": "b", "concrete": True,
                           "polymorphic_on": "type"}

    Base.metadata.create_all(engine)
    s = make_session()
    try:
        s.add_all([A(data="a1"), B(data="b1", bd="x")])
        s.flush()
        s.execute(insert(B), [{"data": "b2", "bd": "y"}])
        got = s.scalars(insert(B).returning(B), [{"data": "b3", "bd": "z"}]).all()
        assert [type(o) for o in got] == [B] and got[0].type == "b"
        s.commit()
        assert read_rows("SELECT type, data FROM conc_b ORDER BY id") == [
            ("b", "b1"), ("b", "b2"), ("b", "b3")]
        assert read_rows("SELECT type, data FROM conc_a") == [("a", "a1")]
        s.close()
        assert [(type(o), o.data) for o in s.scalars(select(B).order_by(B.id))] == [
            (B, "b1"), (B, "b2"), (B, "b3")]
        assert [(type(o), o.data) for o in s.scalars(select(A))] == [(A, "a1")]
    finally:
        s.close()
        Base.metadata.drop_all(engine)
        Base.registry.dispose()
