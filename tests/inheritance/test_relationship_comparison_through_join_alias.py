"""A comparison of a joined-table subclass's relationship (``Engineer.company ==
c``) in a statement that joins that subclass through an alias (its tables overlap
the selected class's: ``select(Manager).join(Manager.reports)``) names the aliased
subclass's row, as a comparison of its column attributes does (was: the selected
class's row, the same table unaliased: wrong rows)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import DeclarativeBase, relationship


@pytest.fixture
def classes(engine, make_session):
    class Base(DeclarativeBase):
        pass

    class Company(Base):
        __tablename__ = "companies"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        type = Column(String(30))
        company_id = Column(ForeignKey("companies.id"))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Manager(Person):
        __tablename__ = "managers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Engineer(Person):
        __tablename__ = "engineers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        manager_id = Column(ForeignKey("managers.id"))
        company = relationship(Company)
        manager = relationship(Manager, foreign_keys=[manager_id], backref="reports")
        __mapper_args__ = {"polymorphic_identity": "engineer",
                           "inherit_condition": id == Person.id}

    Base.metadata.create_all(engine)
    s = make_session()
    c1, c2 = Company(id=1, name="c1"), Company(id=2, name="c2")
    m1 = Manager(id=1, name="m1", company_id=1)
    m2 = Manager(id=2, name="m2", company_id=1)
    s.add_all([c1, c2, m1, m2,
               Engineer(id=3, name="e1", company=c2, manager=m1),
               Engineer(id=4, name="e2", company=c1, manager=m2)])
    s.commit()
    s.close()
    return Company, Person, Manager, Engineer


def test_many_to_one_comparison_of_the_joined_subclass(classes, make_session):
    Company, Person, Manager, Engineer = classes
    s = make_session()
    c2 = s.get(Company, 2)
    found = s.scalars(sa.select(Manager).join(Manager.reports)
                      .where(Engineer.company == c2)).all()
    assert [m.name for m in found] == ["m1"]
    found = s.query(Manager).join(Manager.reports).filter(Engineer.company != c2).all()
    assert [m.name for m in found] == ["m2"]


def test_has_of_the_joined_subclass(classes, make_session):
    Company, Person, Manager, Engineer = classes
    s = make_session()
    found = s.query(Manager).join(Manager.reports) \
        .filter(Engineer.company.has(Company.name == "c2")).all()
    assert [m.name for m in found] == ["m1"]


def test_sibling_many_to_many_over_the_base_key(engine, make_session):
    class Base(DeclarativeBase):
        pass

    secondary = Table("secondary", Base.metadata,
                      Column("left_id", ForeignKey("parent.id")),
                      Column("right_id", ForeignKey("parent.id")))

    class Parent(Base):
        __tablename__ = "parent"
        id = Column(Integer, primary_key=True)
        cls = Column(String(30))
        __mapper_args__ = {"polymorphic_on": cls}

    class Child2(Parent):
        __tablename__ = "child2"
        id = Column(ForeignKey("parent.id"), primary_key=True)
        __mapper_args__ = {"polymorphic_identity": "child2"}

    class Child1(Parent):
        __tablename__ = "child1"
        id = Column(ForeignKey("parent.id"), primary_key=True)
        __mapper_args__ = {"polymorphic_identity": "child1"}
        left_child2 = relationship(
            Child2, secondary=secondary, primaryjoin=Parent.id == secondary.c.right_id,
            secondaryjoin=Parent.id == secondary.c.left_id, uselist=False,
            backref="right_children")

    Base.metadata.create_all(engine)
    s = make_session()
    c11, c12, c13 = Child1(id=1), Child1(id=2), Child1(id=3)
    c21, c22, c23 = Child2(id=4), Child2(id=5), Child2(id=6)
    c11.left_child2 = c22
    c12.left_child2 = c22
    c13.left_child2 = c23
    s.add_all([c11, c12, c13, c21, c22, c23])
    s.commit()
    found = s.scalars(sa.select(Child2).join(Child2.right_children)
                      .where(Child1.left_child2 == c22)).unique().all()
    assert [c.id for c in found] == [5]
    assert sorted(c.id for c in s.query(Child1).filter(Child1.left_child2 == c23)) == [3]
