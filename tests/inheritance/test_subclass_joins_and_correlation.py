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


@pytest.mark.parametrize("first_aliased", [False, True])
def test_aliased_over_subquery_of_two_aliases_reads_each_ones_columns(company, make_session,
                                                                      first_aliased):
    # a subquery selecting two entities of one table: aliased(p2, subq) reads the
    # columns the subquery selected for p2, not the first ones derived from the table
    _c, Person, _e, _m, _pw = company
    s = make_session()
    p1 = aliased(Person) if first_aliased else Person
    p2 = aliased(Person)
    subq = (sa.select(p1, p2).where(p1.company_id == p2.company_id, p1.name == "dogbert",
                                    p1.id > p2.id).subquery())
    pa1, pa2 = aliased(p1, subq), aliased(p2, subq)
    rows = s.execute(sa.select(pa1, pa2).order_by(pa1.id, pa2.id)).all()
    assert [(a.name, b.name) for a, b in rows] == [("dogbert", "dilbert")]
    assert s.query(pa2.name).all() == [("dilbert",)]


@pytest.mark.parametrize("alias_kw", [{}, {"name": "pa2"}, {"flat": True},
                                      {"name": "pa2", "flat": True}])
@pytest.mark.parametrize("wp_kw", [{}, {"aliased": True}, {"flat": True}])
def test_aliased_of_with_polymorphic_keeps_its_subclasses(company, make_session, sql_log,
                                                          wp_kw, alias_kw):
    _c, Person, Engineer, Manager, _pw = company
    s = make_session()
    wp = with_polymorphic(Person, [Engineer], **wp_kw)
    pa = aliased(wp, **alias_kw)
    assert sa.inspect(pa).with_polymorphic_mappers == [sa.inspect(Engineer)]
    objs = s.scalars(sa.select(pa).order_by(pa.id)).all()
    assert [type(o) for o in objs] == [Engineer, Manager, Engineer]
    sql_log.clear()
    assert [o.language for o in objs if isinstance(o, Engineer)] == ["java", "cobol"]
    assert sql_log.count == 0  # read by the same SELECT
    rows = (s.query(pa.name, pa.Engineer.language)
            .filter(pa.Engineer.language == "cobol").all())
    assert rows == [("vlad", "cobol")]


@pytest.mark.parametrize("kind", ["plain", "flat", "aliased_flat"])
def test_select_of_with_polymorphic_columns_reads_its_join(company, make_session, kind):
    # only columns (no entity): the FROM is still the outer join of the subclass
    # tables, not each table on its own (a cartesian product)
    _c, Person, Engineer, _m, _pw = company
    s = make_session()
    if kind == "aliased_flat":
        wp = aliased(with_polymorphic(Person, [Engineer]), flat=True)
    else:
        wp = with_polymorphic(Person, [Engineer], flat=kind == "flat")
    rows = s.execute(sa.select(wp.name, wp.Engineer.language).order_by(wp.id)).all()
    assert rows == [("dilbert", "java"), ("dogbert", None), ("vlad", "cobol")]
    assert s.scalars(sa.select(wp.name).where(wp.Engineer.language == "java")).all() == [
        "dilbert"]
