"""``Mapper.cascade_iterator(type_, state)``: the objects a cascade reaches from one
object, as (object, mapper, state, dict), through subclasses' relationships too."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import inspect, relationship
from datamapper.exc import ArgumentError


def test_cascade_iterator_reaches_through_subclass_relationships(Base):
    class Company(Base):
        __tablename__ = "ci_companies"
        id = Column(Integer, primary_key=True)
        employees = relationship("Employee")

    class Employee(Base):
        __tablename__ = "ci_employees"
        id = Column(Integer, primary_key=True)
        type = Column(String(20))
        company_id = Column(ForeignKey("ci_companies.id"))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "employee"}

    class Engineer(Employee):
        __tablename__ = "ci_engineers"
        id = Column(ForeignKey("ci_employees.id"), primary_key=True)
        languages = relationship("Language", cascade="all")
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Language(Base):
        __tablename__ = "ci_languages"
        id = Column(Integer, primary_key=True)
        engineer_id = Column(ForeignKey("ci_engineers.id"))

    lang = Language()
    eng = Engineer(languages=[lang])
    company = Company(employees=[eng])
    recs = list(inspect(Company).cascade_iterator("save-update", inspect(company)))
    assert {r[0] for r in recs} == {eng, lang}
    obj, mapper, state, d = next(r for r in recs if r[0] is eng)
    assert mapper is inspect(Engineer) and state is inspect(eng) and d is eng.__dict__
    assert [r[0] for r in inspect(Employee).cascade_iterator("save-update",
                                                             inspect(eng))] == [lang]
    assert list(inspect(Company).cascade_iterator(
        "save-update", inspect(company), halt_on=lambda st: st.obj() is lang)) == \
        [r for r in recs if r[0] is not lang]
    with pytest.raises(ArgumentError, match="name one of"):
        list(inspect(Company).cascade_iterator("save", inspect(company)))
