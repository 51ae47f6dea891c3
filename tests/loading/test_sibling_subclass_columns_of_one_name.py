"""Two joined-table subclasses with a column of the same name (``Engineer.status``
and ``Manager.status``): a SELECT that joins one subclass's table only
(``with_polymorphic(Person, [Engineer])``, ``joinedload(...of_type(Engineer))``)
must not give a ``Manager`` row the ``engineers.status`` value (NULL) as its own
``status``; the manager's column stays unloaded and loads on access."""

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey

from datamapper import (
    DeclarativeBase,
    Mapped,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
    subqueryload,
    with_polymorphic,
)


def _models():
    class Base(DeclarativeBase):
        pass

    class Company(Base):
        __tablename__ = "ss_company"
        id: Mapped[int] = mapped_column(primary_key=True)
        staff: Mapped[list["Person"]] = relationship(order_by="Person.id")

    class Person(Base):
        __tablename__ = "ss_person"
        id: Mapped[int] = mapped_column(primary_key=True)
        company_id: Mapped[int] = mapped_column(ForeignKey("ss_company.id"))
        type: Mapped[str] = mapped_column(sa.String(20))
        __mapper_args__ = {"polymorphic_identity": "person", "polymorphic_on": "type"}

    class Engineer(Person):
        __tablename__ = "ss_engineer"
        id: Mapped[int] = mapped_column(ForeignKey("ss_person.id"), primary_key=True)
        status: Mapped[str] = mapped_column(sa.String(20))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "ss_manager"
        id: Mapped[int] = mapped_column(ForeignKey("ss_person.id"), primary_key=True)
        status: Mapped[str] = mapped_column(sa.String(20))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    return Base, Company, Person, Engineer, Manager


@pytest.fixture
def filled(engine, make_session):
    Base, Company, Person, Engineer, Manager = _models()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Company(id=1, staff=[Engineer(id=1, status="coding"), Manager(id=2, status="meeting"),
                               Engineer(id=3, status="testing")]))
    s.commit()
    s.close()
    return Company, Person, Engineer, Manager


def _statuses(people):
    return [(type(p).__name__, p.status) for p in people]


EXPECTED = [("Engineer", "coding"), ("Manager", "meeting"), ("Engineer", "testing")]


@pytest.mark.parametrize("aliased", [False, True])
def test_with_polymorphic_of_one_subclass_leaves_the_siblings_column_unloaded(
        filled, make_session, sql_log, aliased):
    _c, Person, Engineer, _m = filled
    s = make_session()
    wp = with_polymorphic(Person, [Engineer], aliased=aliased)
    people = s.scalars(sa.select(wp).order_by(wp.id)).all()
    assert "status" not in people[1].__dict__
    sql_log.clear()
    assert _statuses(people) == EXPECTED
    assert "ss_manager" in sql_log[0]  # the manager's status came from its own table


@pytest.mark.parametrize("loader", [joinedload, selectinload, subqueryload])
def test_eager_load_of_type_one_subclass_gives_siblings_their_own_column(
        filled, make_session, loader):
    Company, _p, Engineer, _m = filled
    s = make_session()
    c = s.scalars(sa.select(Company).options(loader(Company.staff.of_type(Engineer)))).one()
    assert _statuses(c.staff) == EXPECTED
