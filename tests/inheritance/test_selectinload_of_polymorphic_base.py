"""selectinload() of a relationship to the base of a joined-table hierarchy:

- mapped with ``with_polymorphic="*"``, the IN query reads the subclass tables outer
  joined to the base's (was ``FROM people, managers``: a cartesian product, every
  manager given the first manager's ``status``);
- with a SQL expression as discriminator (``case(...)``), the related objects are
  found by the key columns after that expression's column (was: read at the
  expression's position, so no related object was found: None / empty
  collections)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, case

from datamapper import DeclarativeBase, relationship, selectinload


def _models(mode):
    class Base(DeclarativeBase):
        pass

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        type = Column(String(30))
        group_id = Column(ForeignKey("groups.id"))
        if mode == "with_polymorphic":
            __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person",
                               "with_polymorphic": "*"}
        else:
            __mapper_args__ = {
                "polymorphic_on": case((type == "m", "manager"), else_="person"),
                "polymorphic_identity": "person"}

    class Manager(Person):
        __tablename__ = "managers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        status = Column(String(30))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Group(Base):
        __tablename__ = "groups"
        id = Column(Integer, primary_key=True)
        members = relationship(Person, order_by=Person.id)

    class Car(Base):
        __tablename__ = "cars"
        id = Column(Integer, primary_key=True)
        owner_id = Column(ForeignKey("people.id"))
        owner = relationship(Person)

    return Base, Person, Manager, Group, Car


@pytest.fixture(params=["with_polymorphic", "case_discriminator"])
def loaded(request, engine, make_session):
    Base, Person, Manager, Group, Car = _models(request.param)
    Base.metadata.create_all(engine)
    t = "manager" if request.param == "with_polymorphic" else "m"
    s = make_session()
    m1 = Manager(name="m1", status="s1", type=t)
    m2 = Manager(name="m2", status="s2", type=t)
    p = Person(name="p", type="person")
    s.add_all([Car(id=1, owner=m1), Car(id=2, owner=m2), Car(id=3, owner=p),
               Group(id=1, members=[m1, p]), Group(id=2, members=[m2])])
    s.commit()
    s.close()
    return Person, Manager, Group, Car


def _show(o):
    return (type(o).__name__, o.name, getattr(o, "status", None))


def test_many_to_one(loaded, make_session):
    Person, Manager, Group, Car = loaded
    s = make_session()
    cars = s.query(Car).options(selectinload(Car.owner)).order_by(Car.id).all()
    assert [_show(c.owner) for c in cars] == [
        ("Manager", "m1", "s1"), ("Manager", "m2", "s2"), ("Person", "p", None)]


def test_one_to_many(loaded, make_session):
    Person, Manager, Group, Car = loaded
    s = make_session()
    groups = s.scalars(sa.select(Group).options(selectinload(Group.members))
                       .order_by(Group.id)).all()
    assert [[_show(o) for o in g.members] for g in groups] == [
        [("Manager", "m1", "s1"), ("Person", "p", None)], [("Manager", "m2", "s2")]]
