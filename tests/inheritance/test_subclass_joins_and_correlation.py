"""Queries over a joined-table hierarchy: joining to a subclass without an ON clause,
correlating a subquery to a ``with_polymorphic()`` entity or a subclass, and extra
``and_()`` criteria on a relationship of an ``aliased()`` entity."""

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey

from datamapper import (
    DeclarativeBase,
    Mapped,
    aliased,
    mapped_column,
    relationship,
    with_polymorphic,
)


@pytest.fixture
def company(engine, make_session):
    class Base(DeclarativeBase):
        pass

    class Company(Base):
        __tablename__ = "company"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(30))
        employees: Mapped[list["Person"]] = relationship(order_by="Person.id")

    class Person(Base):
        __tablename__ = "person"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(30))
        type: Mapped[str] = mapped_column(sa.String(20))
        company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
        paperwork: Mapped[list["Paperwork"]] = relationship(order_by="Paperwork.id")
        __mapper_args__ = {"polymorphic_identity": "person", "polymorphic_on": "type"}

    class Engineer(Person):
        __tablename__ = "engineer"
        id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
        language: Mapped[str] = mapped_column(sa.String(30))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "manager"
        id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
        manager_name: Mapped[str] = mapped_column(sa.String(30))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Paperwork(Base):
        __tablename__ = "paperwork"
        id: Mapped[int] = mapped_column(primary_key=True)
        person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
        description: Mapped[str] = mapped_column(sa.String(30))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([
        Company(id=1, name="MegaCorp", employees=[
            Engineer(id=1, name="dilbert", language="java",
                     paperwork=[Paperwork(id=1, description="tps #1")]),
            Manager(id=2, name="dogbert", manager_name="dog",
                    paperwork=[Paperwork(id=2, description="review #2")])]),
        Company(id=2, name="Elbonia", employees=[
            Engineer(id=3, name="vlad", language="cobol",
                     paperwork=[Paperwork(id=3, description="missive #3")])]),
    ])
    s.commit()
    s.close()
    return Company, Person, Engineer, Manager, Paperwork


def test_join_to_subclass_without_on_clause_while_where_names_its_table(company, make_session,
                                                                        sql_log):
    # the WHERE clause names engineer, which joins to person too: the join still
    # starts at the query's entity (company), by its foreign key
    Company, _p, Engineer, _m, _pw = company
    s = make_session()
    got = s.query(Company).join(Engineer).filter(Engineer.language == "cobol").all()
    assert [c.name for c in got] == ["Elbonia"]
    sql = " ".join(sql_log[-1].replace("INNER JOIN", "JOIN").split())
    assert "FROM company JOIN (person JOIN engineer" in sql


@pytest.mark.parametrize("flat", [False, True])
def test_subquery_correlated_to_with_polymorphic_entity(company, make_session, sql_log, flat):
    Company, Person, _e, _m, _pw = company
    s = make_session()
    poly = with_polymorphic(Person, "*", flat=flat)
    company_name = (s.query(Company.name).filter(Company.id == poly.company_id)
                    .correlate(poly).scalar_subquery())
    got = s.query(poly.name).filter(company_name == "Elbonia").all()
    assert got == [("vlad",)]
    inner = sql_log[-1].split("(SELECT", 1)[1]
    assert "FROM company WHERE" in " ".join(inner.split())  # person is the outer one


def test_subquery_correlated_to_joined_subclass(company, make_session):
    Company, _p, Engineer, _m, _pw = company
    s = make_session()
    company_name = (s.query(Company.name).filter(Company.id == Engineer.company_id)
                    .correlate(Engineer).scalar_subquery())
    assert s.query(Engineer.name).filter(company_name == "MegaCorp").all() == [("dilbert",)]


@pytest.mark.parametrize("form", ["relationship_and", "target_and_relationship_and",
                                  "of_type_and"])
def test_and_criteria_on_relationship_of_aliased_entity_join(company, make_session, sql_log,
                                                             form):
    Company, Person, _e, _m, Paperwork = company
    s = make_session()
    ea = aliased(Person)
    pa = aliased(Paperwork)
    q = s.query(Company).join(ea, Company.employees)
    if form == "relationship_and":
        q = q.join(ea.paperwork.and_(Paperwork.description.like("%#2%")))
    elif form == "target_and_relationship_and":
        q = q.join(pa, ea.paperwork.and_(pa.description.like("%#2%")))
    else:
        q = q.join(ea.paperwork.of_type(pa).and_(pa.description.like("%#2%")))
    assert [c.name for c in q.all()] == ["MegaCorp"]
    assert " LIKE " in sql_log[-1]
