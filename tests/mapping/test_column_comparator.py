"""``column_property(..., comparator_factory=...)``: a ``ColumnProperty.Comparator``
subclass redefines the attribute's SQL operators or adds methods; the class attribute,
an ``aliased()`` entity's and Core ``select()`` all use it."""

import sqlalchemy as sa
from sqlalchemy import Column, Integer, String, func

from datamapper import ColumnProperty, aliased, column_property, deferred, select


class CaseInsensitive(ColumnProperty.Comparator):
    def __eq__(self, other):  # type: ignore[override]
        return func.lower(self.__clause_element__()) == func.lower(other)

    def startswith_ci(self, prefix):
        return func.lower(self.__clause_element__()).like(func.lower(prefix) + "%")


def _model(Base, engine, make_session):
    class User(Base):
        __tablename__ = "cmp_users"
        id = Column(Integer, primary_key=True)
        name = column_property(Column(String(30)), comparator_factory=CaseInsensitive)
        note = deferred(Column(String(30)), comparator_factory=CaseInsensitive)
        plain = Column(String(30))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="Ed", note="Hi", plain="Ed"),
               User(id=2, name="Wendy", note="yo", plain="wendy")])
    s.commit()
    s.close()
    return User


def test_redefined_operator_is_the_sql_sent(Base, engine, make_session, sql_log):
    User = _model(Base, engine, make_session)
    s = make_session()
    for stmt in (select(User).where(User.name == "ED"), sa.select(User).where(User.name == "ED")):
        assert "lower(cmp_users.name) = lower(" in str(stmt)
        assert [u.id for u in s.scalars(stmt)] == [1]
    assert [u.id for u in s.query(User).filter(User.note == "HI")] == [1]
    assert [u.id for u in s.scalars(select(User).where(User.name.startswith_ci("w")))] == [2]
    # operators the comparator leaves alone are the column's
    assert [u.id for u in s.scalars(select(User).where(User.name != "Ed"))] == [2]
    assert "cmp_users.plain = " in str(select(User).where(User.plain == "ED"))
    assert isinstance(User.name.comparator, CaseInsensitive)
    assert User.name.comparator.prop is User.name.property


def test_an_alias_compares_through_the_comparator_too(Base, engine, make_session):
    User = _model(Base, engine, make_session)
    ua = aliased(User, name="ua")
    s = make_session()
    stmt = select(ua).where(ua.name == "wENDY")
    assert "lower(ua.name) = lower(" in str(stmt)
    assert [u.id for u in s.scalars(stmt)] == [2]


def test_default_comparator_is_the_column(Base, engine, make_session):
    User = _model(Base, engine, make_session)
    cmp = ColumnProperty.Comparator(User.plain.property, User.plain.parent, User.plain)
    assert str(cmp == "x") == str(User.plain == "x")
