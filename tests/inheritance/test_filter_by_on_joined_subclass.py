"""filter_by() on a select of a joined-inheritance subclass: the class's tables' join
is one entity, so a base-table column (``name``) is found once, not also on the
``person`` table the join is made of (SQLAlchemy 2.1's filter_by() searches every FROM
entity; SQLAlchemy's examples/inheritance/joined.py raised AmbiguousColumnError)."""

import pytest
import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import aliased, select


@pytest.fixture
def M(Base, engine, make_session):
    class Person(Base):
        __tablename__ = "fbj_person"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "fbj_engineer"
        id = Column(Integer, ForeignKey("fbj_person.id"), primary_key=True)
        language = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Person(id=1, name="pat"), Engineer(id=2, name="eve", language="py"),
               Engineer(id=3, name="pat", language="c")])
    s.commit()
    s.close()
    return Person, Engineer


@pytest.mark.parametrize("build", [select, sqlalchemy.select], ids=["datamapper", "core"])
def test_filter_by_names_base_and_subclass_columns_of_the_subclass(M, make_session, build):
    Person, Engineer = M
    s = make_session()
    assert [e.id for e in s.scalars(build(Engineer).filter_by(name="pat"))] == [3]
    assert [e.id for e in s.scalars(build(Engineer).filter_by(language="py"))] == [2]
    assert [e.id for e in s.scalars(
        build(Engineer).filter_by(name="eve", language="py"))] == [2]
    assert [p.id for p in s.scalars(build(Person).filter_by(name="pat").order_by(Person.id))] \
        == [1, 3]
    ea = aliased(Engineer)
    assert [e.id for e in s.scalars(build(ea).filter_by(name="pat"))] == [3]


def test_query_filter_by_of_the_subclass(M, make_session):
    Person, Engineer = M
    s = make_session()
    assert [e.id for e in s.query(Engineer).filter_by(name="pat")] == [3]
