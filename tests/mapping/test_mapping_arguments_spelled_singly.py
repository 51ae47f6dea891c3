"""Mapping arguments users write in their short forms: ``primary_key=`` given one
column rather than a list, and a column's ``doc=`` shown as the mapped attribute's
documentation (``help(User.id)``)."""

from typing import Optional

from sqlalchemy import Column, ForeignKey, Integer, String, Table, inspect, select

from datamapper import DeclarativeBase, Mapped, mapped_column, registry, relationship


def test_primary_key_given_as_a_single_column(engine, make_session, read_rows):
    reg = registry()
    # a table without a declared key, mapped with primary_key=<one column>
    log = Table("log_lines", reg.metadata, Column("seq", Integer), Column("text", String(30)))

    class Line:
        pass

    reg.map_imperatively(Line, log, primary_key=log.c.seq)
    assert list(inspect(Line).primary_key) == [log.c.seq]
    reg.metadata.create_all(engine)
    s = make_session()
    s.add_all([Line(seq=1, text="a"), Line(seq=2, text="b")])
    s.commit()
    s.close()
    assert read_rows(log) == [(1, "a"), (2, "b")]
    s = make_session()
    assert s.get(Line, 2).text == "b"
    assert s.scalars(select(Line.text).order_by(Line.seq)).all() == ["a", "b"]


def test_column_and_property_doc_is_the_mapped_attributes_doc():
    class Base(DeclarativeBase):
        pass

    class Stamped:
        id = Column(Integer, primary_key=True, doc="the row's key")

    class Parent(Stamped, Base):
        __tablename__ = "doc_parents"
        name: Mapped[Optional[str]] = mapped_column(String(20), doc="display name")  # noqa: UP045
        kids: Mapped[list["Kid"]] = relationship(doc="the children")
        plain: Mapped[Optional[int]]  # noqa: UP045

    class Kid(Base):
        __tablename__ = "doc_kids"
        id: Mapped[int] = mapped_column(primary_key=True)
        parent_id: Mapped[int] = mapped_column(ForeignKey("doc_parents.id"))

    assert Parent.id.__doc__ == "the row's key"
    assert Parent.name.__doc__ == "display name"
    assert Parent.kids.__doc__ == "the children"
    assert Parent.plain.__doc__ is None  # no doc given (as in SQLAlchemy)


def test_column_property_and_deferred_name_their_column_in_table_args(engine, make_session,
                                                                      read_rows):
    from sqlalchemy import Index, UniqueConstraint
    from sqlalchemy.exc import IntegrityError

    from datamapper import column_property, deferred

    class Base(DeclarativeBase):
        pass

    class Foo(Base):
        __tablename__ = "doc_foo"
        id = Column(Integer, primary_key=True)
        code = column_property(Column(Integer))
        note = deferred(Column(String(20)))
        __table_args__ = (UniqueConstraint(code), Index("ix_doc_foo_note", note))

    (uq,) = [c for c in Foo.__table__.constraints if isinstance(c, UniqueConstraint)]
    assert list(uq.columns) == [Foo.__table__.c.code]
    (ix,) = Foo.__table__.indexes
    assert list(ix.columns) == [Foo.__table__.c.note]
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Foo(id=1, code=7, note="n"))
    s.commit()
    s.add(Foo(id=2, code=7))
    try:
        s.commit()
        raise AssertionError("the unique constraint on code was not created")
    except IntegrityError:
        s.rollback()
    assert read_rows(Foo.__table__) == [(1, 7, "n")]
