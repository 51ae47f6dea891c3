"""A select() of a mapped class (Core's and datamapper's) exports its column_property()
expressions under their attribute names, to a subquery's ``.c`` and to
``selected_columns``, as SQLAlchemy does: ``double = column_property(id * 2)`` was
exported as "_no_label", ``name_upper = column_property(func.upper(name))`` as "upper"
and ``plus = column_property((id + 10).label("p10"))`` as "p10", so ``subq.c.double``
raised AttributeError (datamapper's select() until session 17, Core's until 4f1a1e3)."""

import pytest
from sqlalchemy import Column, Integer, String, func
from sqlalchemy import select as core_select

from datamapper import aliased, column_property, select

MAKERS = pytest.mark.parametrize("make", [select, core_select], ids=["datamapper", "core"])
KEYS = {"id", "name", "double", "name_upper", "plus"}


@pytest.fixture
def User(Base, engine, make_session):
    class User(Base):
        __tablename__ = "sec_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        double = column_property(id * 2)
        name_upper = column_property(func.upper(name))
        plus = column_property((id + 10).label("p10"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="a"), User(id=2, name="b")])
    s.commit()
    s.close()
    return User


@MAKERS
def test_subquery_columns_keyed_by_attribute(User, session, make):
    subq = make(User).subquery()
    assert set(subq.c.keys()) == KEYS
    rows = session.execute(
        core_select(subq.c.id, subq.c.double, subq.c.plus).where(subq.c.name_upper == "B")
    ).all()
    assert rows == [(2, 4, 12)]
    assert set(make(User).selected_columns.keys()) == KEYS


@MAKERS
def test_select_of_the_class_still_loads_them(User, session, make, sql_log):
    got = session.scalars(make(User).order_by(User.id)).all()
    assert [(u.id, u.double, u.name_upper, u.plus) for u in got] == [
        (1, 2, "A", 11), (2, 4, "B", 12)]
    # the SQL names are unchanged: a label's own, else anonymous
    assert " AS p10" in sql_log.statements[-1]
    rows = session.execute(make(User.id, User.double, User.plus).order_by(User.id)).all()
    assert rows == [(1, 2, 11), (2, 4, 12)]


@MAKERS
def test_entity_of_the_subquery_still_loads_them(User, session, make):
    subq = make(User).where(User.id > 1).subquery()
    ua = aliased(User, subq)
    got = session.scalars(core_select(ua)).all()
    assert [(u.id, u.double, u.name_upper) for u in got] == [(2, 4, "B")]
    assert session.execute(core_select(ua.double).where(ua.name_upper == "B")).all() == [(4,)]
