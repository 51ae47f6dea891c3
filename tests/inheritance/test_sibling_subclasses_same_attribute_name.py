"""Two sibling joined-table subclasses that each map an attribute of one name to a
column of their own table (``Engineer.status`` -> engineer.status, ``Manager.status``
-> manager.status): a SELECT reading both subclasses gives each object its own
table's value.  With ``with_polymorphic="*"`` on the base's mapper, a join along a
relationship to the base joins the FROM its entity reads (the outer join of the
subclass tables)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey

from datamapper import DeclarativeBase, Mapped, mapped_column, relationship, with_polymorphic


def _models(mapper_wp):
    class Base(DeclarativeBase):
        pass

    class Person(Base):
        __tablename__ = "person"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(30))
        type: Mapped[str] = mapped_column(sa.String(20))
        __mapper_args__ = {"polymorphic_identity": "person", "polymorphic_on": "type",
                           **({"with_polymorphic": "*"} if mapper_wp else {})}

    class Engineer(Person):
        __tablename__ = "engineer"
        id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
        status: Mapped[str] = mapped_column(sa.String(30))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "manager"
        id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
        status: Mapped[str] = mapped_column(sa.String(30))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    return Base, Person, Engineer, Manager


@pytest.fixture(params=[False, True], ids=["adhoc", "mapper_with_polymorphic"])
def people(request, engine, make_session):
    Base, Person, Engineer, Manager = _models(request.param)
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Engineer(id=1, name="dilbert", status="engineering"),
               Manager(id=2, name="dogbert", status="managing")])
    s.commit()
    s.close()
    return Person, Engineer, Manager


def test_with_polymorphic_of_both_siblings_reads_each_ones_column(people, make_session,
                                                                  sql_log):
    Person, Engineer, Manager = people
    s = make_session()
    poly = with_polymorphic(Person, [Engineer, Manager])
    objs = s.scalars(sa.select(poly).order_by(poly.id)).all()
    assert [(type(o).__name__, o.status) for o in objs] == [
        ("Engineer", "engineering"), ("Manager", "managing")]
    assert len(sql_log.matching("SELECT")) == 1
    assert "manager.status" in sql_log[0] and "engineer.status" in sql_log[0]


def test_with_polymorphic_of_one_sibling_leaves_the_others_attribute_to_load(people,
                                                                             make_session):
    Person, Engineer, Manager = people
    s = make_session()
    poly = with_polymorphic(Person, [Engineer])
    objs = s.scalars(sa.select(poly).order_by(poly.id)).all()
    assert [(type(o).__name__, o.status) for o in objs] == [
        ("Engineer", "engineering"), ("Manager", "managing")]


def test_query_of_base_class_gives_each_sibling_its_value(people, make_session):
    Person, Engineer, Manager = people
    s = make_session()
    objs = s.query(Person).order_by(Person.id).all()
    assert [(type(o).__name__, o.status) for o in objs] == [
        ("Engineer", "engineering"), ("Manager", "managing")]


@pytest.fixture
def company_people(engine, make_session):
    Base, Person, Engineer, Manager = _models(True)

    class Company(Base):
        __tablename__ = "company"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(30))
        employees = relationship(Person, order_by=Person.id)

    Person.__table__.append_column(sa.Column("company_id", sa.ForeignKey("company.id")))
    Person.__mapper__.add_property("company_id", Person.__table__.c.company_id)
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Company(id=1, name="C1", employees=[Engineer(id=1, name="dilbert", status="e")]),
               Company(id=2, name="C2", employees=[Manager(id=2, name="dogbert", status="m")])])
    s.commit()
    s.close()
    return Company, Person, Engineer, Manager


@pytest.mark.parametrize("style", ["query", "select"])
def test_relationship_join_to_class_with_mapper_level_with_polymorphic(company_people,
                                                                       make_session, sql_log,
                                                                       style):
    # the entity reads people LEFT OUTER JOIN engineer ...: the join along
    # Company.employees joins that same FROM, not the person table a second time
    Company, Person, Engineer, Manager = company_people
    s = make_session()
    if style == "query":
        rows = (s.query(Company, Person).join(Company.employees)
                .filter(Person.name == "dogbert").all())
    else:
        rows = s.execute(sa.select(Company, Person).join(Company.employees)
                         .where(Person.name == "dogbert")).all()
    assert [(c.name, type(p).__name__) for c, p in rows] == [("C2", "Manager")]
    sql_log.clear()
    assert rows[0][1].status == "m"
    assert sql_log.count == 0
