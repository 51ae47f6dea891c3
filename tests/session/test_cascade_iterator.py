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


def test_cascade_from_add_inserts_grandchildren_in_parent_order(author_models, make_session,
                                                                read_rows):
    # the save-update cascade walks depth first: the pages of the first book come
    # before those of the second, so their generated keys follow that order
    Author, Book, Page = author_models
    s = make_session()
    s.add(Author(name="a", books=[
        Book(title="b1", pages=[Page(text="b1p1"), Page(text="b1p2")]),
        Book(title="b2", pages=[Page(text="b2p1"), Page(text="b2p2")]),
        Book(title="b3", pages=[Page(text="b3p1")])]))
    s.commit()
    assert [r[1:] for r in read_rows(Book.__table__)] == [(1, "b1"), (1, "b2"), (1, "b3")]
    assert [(r[1], r[2]) for r in read_rows(Page.__table__)] == [
        (1, "b1p1"), (1, "b1p2"), (2, "b2p1"), (2, "b2p2"), (3, "b3p1")]


def test_cascade_iterator_is_depth_first_in_collection_order(author_models):
    Author, Book, Page = author_models
    p1, p2, p3 = Page(text="p1"), Page(text="p2"), Page(text="p3")
    b1, b2 = Book(title="b1", pages=[p1, p2]), Book(title="b2", pages=[p3])
    a = Author(books=[b1, b2])
    assert [r[0] for r in inspect(Author).cascade_iterator("save-update", inspect(a))] == [
        b1, p1, p2, b2, p3]
