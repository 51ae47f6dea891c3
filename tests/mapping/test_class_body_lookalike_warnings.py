"""A declarative class body value that looks mapped but maps nothing warns, naming
the attribute: a Column with a stray trailing comma (a tuple), and a SQL
expression that is not a table Column (class body, mixin or declared_attr)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String
from sqlalchemy.exc import SAWarning

from datamapper import DeclarativeBase, column_property, declared_attr


class Base(DeclarativeBase):
    pass


def test_column_with_a_trailing_comma_warns_and_is_not_mapped():
    with pytest.warns(SAWarning, match=r"Oops\.name is a tuple .*trailing comma"):
        class Oops(Base):
            __tablename__ = "lw_oops"
            id = Column(Integer, primary_key=True)
            name = (Column("name", String(50)),)

    assert list(Oops.__table__.c.keys()) == ["id"]


@pytest.mark.parametrize("where", ["body", "mixin", "declared_attr"])
def test_plain_sql_expression_warns_and_points_to_column_property(where):
    class Mixin:
        if where == "mixin":
            x = sa.column("x", Integer)
        if where == "declared_attr":
            @declared_attr
            def x(cls):
                return sa.column("x", Integer)

    with pytest.warns(SAWarning, match=r"\.x is a SQL expression .*column_property"):
        class Thing(Mixin, Base):
            __tablename__ = f"lw_thing_{where}"
            id = Column(Integer, primary_key=True)
            if where == "body":
                x = sa.column("x", Integer)

    assert list(Thing.__table__.c.keys()) == ["id"]


def test_mapped_expressions_do_not_warn(recwarn):
    class Fine(Base):
        __tablename__ = "lw_fine"
        id = Column(Integer, primary_key=True)
        a = Column(Integer)
        doubled = column_property(a * 2)

    assert not [w for w in recwarn if issubclass(w.category, SAWarning)]
    assert "doubled" in Fine.__mapper__.attrs
