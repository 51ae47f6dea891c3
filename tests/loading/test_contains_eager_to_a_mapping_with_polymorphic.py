"""contains_eager() of a relationship whose target is mapped with_polymorphic (every
subclass's table joined to its base's): ``join(Company.employees)`` joins that
polymorphic FROM, and the eager load reads each subclass's columns from it, in the
one SELECT (it was refused: "column engineers.primary_language is not in people")."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import contains_eager, declarative_base, relationship


def _models(poly):  # poly: the base's with_polymorphic
    Base = declarative_base()

    class Company(Base):
        __tablename__ = "cepoly_company"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        employees = relationship("Person", order_by="Person.id")

    class Person(Base):
        __tablename__ = "cepoly_person"
        id = Column(Integer, primary_key=True)
        company_id = Column(ForeignKey("cepoly_company.id"))
        name = Column(String(20))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person",
                           "with_polymorphic": poly}

    class Engineer(Person):
        __tablename__ = "cepoly_engineer"
        id = Column(ForeignKey("cepoly_person.id"), primary_key=True)
        language = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "cepoly_manager"
        id = Column(ForeignKey("cepoly_person.id"), primary_key=True)
        status = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    return Base, Company, Person, Engineer, Manager


@pytest.mark.parametrize("outer", [True, False])
def test_contains_eager_reads_the_subclass_columns_the_join_brings(
        engine, make_session, sql_log, outer):
    Base, Company, Person, Engineer, Manager = _models("*")
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([
        Company(id=1, name="c1", employees=[Manager(id=1, name="m1", status="boss"),
                                            Engineer(id=2, name="e1", language="py"),
                                            Person(id=3, name="p1")]),
        Company(id=2, name="c2", employees=[Engineer(id=4, name="e2", language="java")]),
        Company(id=3, name="c3")])
    s.commit()
    s.close()
    s = make_session()
    sql_log.clear()
    q = s.query(Company)
    q = q.outerjoin(Company.employees) if outer else q.join(Company.employees)
    got = q.options(contains_eager(Company.employees)).order_by(Company.id, Person.id).all()

    def row(p):
        own = p.__dict__
        return (type(p).__name__, p.name, own.get("language"), own.get("status"))

    expected = [("c1", [("Manager", "m1", None, "boss"), ("Engineer", "e1", "py", None),
                        ("Person", "p1", None, None)]),
                ("c2", [("Engineer", "e2", "java", None)])]
    if outer:
        expected.append(("c3", []))
    assert [(c.name, [row(p) for p in c.employees]) for c in got] == expected
    assert len(sql_log.statements) == 1


def test_contains_eager_of_an_alias_of_the_base_table(engine, make_session, sql_log):
    # aliased(Person) of a class mapped with_polymorphic is an alias of the base table:
    # the eager load reads the base columns from it and the subclass columns load when
    # first read (was InvalidRequestError "column ... language is not in ...")
    from datamapper import aliased

    Base, Company, Person, Engineer, Manager = _models("*")
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Company(id=1, name="c1", employees=[Manager(id=1, name="m1", status="boss"),
                                                   Engineer(id=2, name="e1", language="py")]),
               Company(id=2, name="c2")])
    s.commit()
    s.close()
    s = make_session()
    pa = aliased(Person)
    sql_log.clear()
    got = (s.query(Company).outerjoin(pa, Company.employees)
           .options(contains_eager(Company.employees.of_type(pa))).order_by(Company.id, pa.id)
           .all())
    assert [(c.name, [(type(p).__name__, p.name) for p in c.employees]) for c in got] == \
        [("c1", [("Manager", "m1"), ("Engineer", "e1")]), ("c2", [])]
    assert len(sql_log.statements) == 1
    assert [got[0].employees[0].status, got[0].employees[1].language] == ["boss", "py"]
