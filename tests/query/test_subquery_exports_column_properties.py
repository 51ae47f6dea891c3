"""A Core ``select()`` of a mapped class exports its column_property() expressions under
their attribute names, to a subquery's ``.c`` and to ``selected_columns``, as SQLAlchemy
does: ``double = column_property(id * 2)`` was exported as "_no_label" and
``name_upper = column_property(func.upper(name))`` as "upper", so
``subq.c.double`` raised AttributeError."""

import pytest
from sqlalchemy import Column, Integer, String, func
from sqlalchemy import select as core_select

from datamapper import aliased, column_property


@pytest.fixture
def User(Base, engine, make_session):
    class User(Base):
        __tablename__ = "sec_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        double = column_property(id * 2)
        name_upper = column_property(func.upper(name))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="a"), User(id=2, name="b")])
    s.commit()
    s.close()
    return User


def test_subquery_columns_keyed_by_attribute(User, session):
    subq = core_select(User).subquery()
    assert set(subq.c.keys()) == {"id", "name", "double", "name_upper"}
    rows = session.execute(
        core_select(subq.c.id, subq.c.double).where(subq.c.name_upper == "B")).all()
    assert rows == [(2, 4)]
    assert set(core_select(User).selected_columns.keys()) == {
        "id", "name", "double", "name_upper"}


def test_entity_of_the_subquery_still_loads_them(User, session):
    subq = core_select(User).where(User.id > 1).subquery()
    ua = aliased(User, subq)
    got = session.scalars(core_select(ua)).all()
    assert [(u.id, u.double, u.name_upper) for u in got] == [(2, 4, "B")]
    assert session.execute(core_select(ua.double).where(ua.name_upper == "B")).all() == [(4,)]
