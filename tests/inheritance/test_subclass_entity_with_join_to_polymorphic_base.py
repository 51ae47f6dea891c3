"""A subclass entity selected beside a relationship join to its base, the base
mapped with ``with_polymorphic``: ``query(Engineer, Company.name)
.join(Company.employees)``.  The join reads the base's tables outer joined to the
subclasses' (``companies JOIN (people LEFT OUTER JOIN engineers LEFT OUTER JOIN
managers)``) and the entity is read from them, as SQLAlchemy reads it (was: the
entity's own ``people JOIN engineers`` named the same tables again: "ambiguous
column name: people.person_id").  Its rows are the subclass's own in every join
order: the rows of the other classes are not loaded into it."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import DeclarativeBase, relationship


@pytest.fixture
def classes(engine, make_session):
    class Base(DeclarativeBase):
        pass

    class Company(Base):
        __tablename__ = "companies"
        company_id = Column(Integer, primary_key=True)
        name = Column(String(30))
        employees = relationship("Person", order_by="Person.person_id",
                                 back_populates="company")

    class Person(Base):
        __tablename__ = "people"
        person_id = Column(Integer, primary_key=True)
        company_id = Column(ForeignKey("companies.company_id"))
        name = Column(String(30))
        type = Column(String(30))
        company = relationship(Company, back_populates="employees")
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person",
                           "with_polymorphic": "*"}

    class Engineer(Person):
        __tablename__ = "engineers"
        person_id = Column(ForeignKey("people.person_id"), primary_key=True)
        language = Column(String(30))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "managers"
        person_id = Column(ForeignKey("people.person_id"), primary_key=True)
        status = Column(String(30))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([
        Company(company_id=1, name="c1", employees=[
            Engineer(person_id=1, name="e1", language="py"),
            Manager(person_id=2, name="m1", status="boss"),
            Person(person_id=3, name="p1")]),
        Company(company_id=2, name="c2", employees=[
            Engineer(person_id=4, name="e2", language="c")]),
        Company(company_id=3, name="c3", employees=[Manager(person_id=5, name="m2")]),
    ])
    s.commit()
    s.close()
    return Company, Person, Engineer, Manager


def _show(row):
    return tuple(f"{type(x).__name__}:{x.name}" if hasattr(x, "name") else x for x in row)


def test_entity_then_column_joined_from_the_column(classes, make_session):
    Company, Person, Engineer, Manager = classes
    s = make_session()
    rows = s.query(Engineer, Company.name).join(Company.employees) \
        .filter(Person.type == "engineer").order_by(Person.person_id).all()
    assert [_show(r) for r in rows] == [("Engineer:e1", "c1"), ("Engineer:e2", "c2")]
    assert rows[0][0].language == "py"


def test_column_then_entity(classes, make_session):
    Company, Person, Engineer, Manager = classes
    s = make_session()
    rows = s.query(Company.name, Engineer).join(Company.employees) \
        .order_by(Person.person_id).all()
    assert [_show(r) for r in rows] == [("c1", "Engineer:e1"), ("c2", "Engineer:e2")]


def test_entity_with_select_from_the_parent(classes, make_session):
    Company, Person, Engineer, Manager = classes
    s = make_session()
    found = s.query(Engineer).select_from(Company).join(Company.employees) \
        .filter(Company.name == "c1").all()
    assert [(type(e).__name__, e.name, e.language) for e in found] == [
        ("Engineer", "e1", "py")]


def test_parent_entity_then_other_subclass(classes, make_session):
    Company, Person, Engineer, Manager = classes
    s = make_session()
    rows = s.query(Company, Manager).join(Company.employees) \
        .order_by(Person.person_id).all()
    assert [_show(r) for r in rows] == [("Company:c1", "Manager:m1"),
                                         ("Company:c3", "Manager:m2")]
    assert rows[0][1].status == "boss"


def test_core_select_of_entity_and_column(classes, make_session):
    Company, Person, Engineer, Manager = classes
    s = make_session()
    rows = s.execute(sa.select(Engineer, Company.name).join(Company.employees)
                     .where(Engineer.language == "c")).all()
    assert [_show(r) for r in rows] == [("Engineer:e2", "c2")]


def test_outer_join_gives_the_parent_rows_without_the_subclass(classes, make_session):
    Company, Person, Engineer, Manager = classes
    s = make_session()
    rows = s.query(Company.name, Engineer).outerjoin(Company.employees) \
        .order_by(Company.company_id, Person.person_id).all()
    assert [_show(r) for r in rows] == [("c1", "Engineer:e1"), ("c2", "Engineer:e2"),
                                         ("c3", None)]


def test_base_entity_reads_every_class(classes, make_session):
    Company, Person, Engineer, Manager = classes
    s = make_session()
    rows = s.query(Person, Company.name).join(Company.employees) \
        .order_by(Person.person_id).all()
    assert [_show(r) for r in rows] == [
        ("Engineer:e1", "c1"), ("Manager:m1", "c1"), ("Person:p1", "c1"),
        ("Engineer:e2", "c2"), ("Manager:m2", "c3")]


def test_join_from_the_subclass_keeps_its_rows(classes, make_session):
    Company, Person, Engineer, Manager = classes
    s = make_session()
    rows = s.query(Engineer, Company.name).join(Engineer.company) \
        .order_by(Engineer.person_id).all()
    assert [_show(r) for r in rows] == [("Engineer:e1", "c1"), ("Engineer:e2", "c2")]
