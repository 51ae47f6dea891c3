"""any() / has() of a relationship whose target is a joined-table subclass, with a
criterion on a column of its base table (``Org.engineers.any(Engineer.name ==
"e1")``, ``name`` a ``people`` column): the EXISTS reads the subclass's tables
joined (was ``FROM engineers, eto, people``: a cartesian product, true for every
parent with any related row as soon as some person matched)."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import DeclarativeBase, relationship


@pytest.fixture
def classes(engine, make_session):
    class Base(DeclarativeBase):
        pass

    eto = Table("eto", Base.metadata, Column("org_id", ForeignKey("orgs.id")),
                Column("eng_id", ForeignKey("engineers.id")))

    class Org(Base):
        __tablename__ = "orgs"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        engineers = relationship("Engineer", secondary=eto, backref="orgs")
        staff = relationship("Engineer", foreign_keys="Engineer.org_id",
                             back_populates="org")

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        type = Column(String(30))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "engineers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        org_id = Column(ForeignKey("orgs.id"))
        org = relationship(Org, foreign_keys=[org_id], back_populates="staff")
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    Base.metadata.create_all(engine)
    s = make_session()
    e1, e2, e3 = Engineer(name="e1"), Engineer(name="e2"), Engineer(name="e3")
    s.add_all([Org(name="o1", engineers=[e1, e2], staff=[e1]),
               Org(name="o2", engineers=[e3], staff=[e2, e3]),
               Org(name="o3"), Person(name="e1")])
    s.commit()
    s.close()
    return Org, Person, Engineer


def _names(q):
    return sorted(o.name for o in q)


def test_many_to_many_any(classes, make_session):
    Org, Person, Engineer = classes
    s = make_session()
    assert _names(s.query(Org).filter(Org.engineers.any(Engineer.name == "e1"))) == ["o1"]
    assert _names(s.query(Org).filter(Org.engineers.any(Person.name == "e3"))) == ["o2"]
    assert _names(s.query(Org).filter(Org.engineers.any(name="e2"))) == ["o1"]
    assert _names(s.query(Org).filter(~Org.engineers.any(Engineer.name == "e1"))) == [
        "o2", "o3"]
    assert _names(s.query(Org).filter(Org.engineers.any())) == ["o1", "o2"]


def test_many_to_many_any_from_the_subclass(classes, make_session):
    Org, Person, Engineer = classes
    s = make_session()
    assert _names(s.query(Engineer).filter(Engineer.orgs.any(Org.name == "o2"))) == ["e3"]


def test_one_to_many_any(classes, make_session):
    Org, Person, Engineer = classes
    s = make_session()
    assert _names(s.query(Org).filter(Org.staff.any(Engineer.name == "e2"))) == ["o2"]
    assert _names(s.query(Org).filter(Org.staff.any(Engineer.name == "e1"))) == ["o1"]


def test_many_to_one_has(classes, make_session):
    Org, Person, Engineer = classes
    s = make_session()
    assert _names(s.query(Engineer).filter(Engineer.org.has(Org.name == "o2"))) == [
        "e2", "e3"]
