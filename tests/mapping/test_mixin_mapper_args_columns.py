"""``__mapper_args__`` of a mixin naming the mixin's own columns (``polymorphic_on``,
``version_id_col``, ``primary_key``): each class gets the column of its own table."""

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import declared_attr


def test_mixin_polymorphic_on_its_column_is_the_class_tables(Base, engine, make_session,
                                                             read_rows):
    class HasType:
        type_ = Column(String(50))
        __mapper_args__ = {"polymorphic_on": type_, "polymorphic_identity": "base"}

    class Thing(HasType, Base):
        __tablename__ = "mxa_things"
        id = Column(Integer, primary_key=True)

    class Special(Thing):
        __mapper_args__ = {"polymorphic_identity": "special"}

    assert Thing.__mapper__.polymorphic_on is Thing.__table__.c.type_
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Thing(id=1), Special(id=2)])
    s.commit()
    assert read_rows(Thing.__table__) == [(1, "base"), (2, "special")]
    s.close()
    s = make_session()
    assert [type(t).__name__ for t in s.query(Thing).order_by(Thing.id)] == ["Thing",
                                                                            "Special"]


def test_mixin_declared_attr_column_as_polymorphic_on(Base):
    class HasType:
        @declared_attr
        def type_(cls):
            return Column(String(50))

        __mapper_args__ = {"polymorphic_on": type_}

    class Thing(HasType, Base):
        __tablename__ = "mxa_things2"
        id = Column(Integer, primary_key=True)

    assert Thing.__mapper__.polymorphic_on is Thing.__table__.c.type_


@pytest.mark.parametrize("arg", ["primary_key", "version_id_col"])
def test_mixin_columns_as_primary_key_and_version_id_col(Base, engine, make_session,
                                                         read_rows, arg):
    class Mixin:
        a = Column(Integer)
        b = Column(Integer)
        if arg == "primary_key":
            __mapper_args__ = {"primary_key": [a, b]}
        else:
            __mapper_args__ = {"primary_key": a, "version_id_col": b}

    class A(Mixin, Base):
        __tablename__ = "mxa_a"

    t = A.__table__
    if arg == "primary_key":
        assert list(A.__mapper__.primary_key) == [t.c.a, t.c.b]
    else:
        assert A.__mapper__.primary_key[0] is t.c.a
        assert A.__mapper__.version_id_col is t.c.b
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(A(a=1, b=2) if arg == "primary_key" else A(a=1))
    s.commit()
    assert read_rows(t) == ([(1, 2)] if arg == "primary_key" else [(1, 1)])
