"""A query whose eager options go two levels deep, run when the session's objects
already hold the first level: the second level loads for the objects the first level
holds (no lazy load per object afterwards)."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer

from datamapper import joinedload, relationship, selectinload, subqueryload


@pytest.fixture
def models(Base, engine, make_session):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        addresses = relationship("Address", order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        dings = relationship("Ding", order_by="Ding.id")
        ding = relationship("Ding", uselist=False, viewonly=True)

    class Ding(Base):
        __tablename__ = "dings"
        id = Column(Integer, primary_key=True)
        address_id = Column(Integer, ForeignKey("addresses.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(User(id=8, addresses=[Address(id=1, dings=[Ding(id=1), Ding(id=2)]),
                                Address(id=2)]))
    s.commit()
    s.close()
    return User, Address, Ding


@pytest.mark.parametrize("first", [selectinload, subqueryload, joinedload])
@pytest.mark.parametrize("second", [selectinload, subqueryload, joinedload])
@pytest.mark.parametrize("attr", ["dings", "ding"])
def test_second_level_loads_below_a_loaded_first_level(models, session, sql_log, first,
                                                        second, attr):
    User, Address, Ding = models
    if second is joinedload and first is not joinedload:
        pytest.skip("a joined load below a selectin/subquery load reads the rows of that "
                    "load's SELECT, which parents holding the collection don't run (as in "
                    "SQLAlchemy)")
    u1 = session.query(User).filter_by(id=8).options(first(User.addresses)).one()
    session.query(User).filter_by(id=8).options(
        first(User.addresses).options(second(getattr(Address, attr)))).all()
    n = len(sql_log.statements)
    got = [getattr(a, attr) for a in u1.addresses]
    assert len(sql_log.statements) == n  # nothing left to load lazily
    if attr == "dings":
        assert [[d.id for d in ds] for ds in got] == [[1, 2], []]
    else:
        assert [d.id if d is not None else None for d in got][1] is None
        assert got[0].id in (1, 2)
