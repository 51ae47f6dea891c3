"""A single-table subclass of a joined-table subclass (Manager stored in Employee's
``persons JOIN employees``): loading its unloaded or expired columns, and refresh(),
read its row of the join (was ``FROM employees, persons WHERE persons.person_id =
?``: a cartesian product, every Manager given the first employees row's values)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import registry


@pytest.fixture
def classes(engine, make_session):
    md = sa.MetaData()
    persons = Table("persons", md, Column("person_id", Integer, primary_key=True),
                    Column("name", String(50)), Column("type", String(20), nullable=False))
    employees = Table("employees", md,
                      Column("person_id", Integer, ForeignKey("persons.person_id"),
                             primary_key=True),
                      Column("employee_data", String(50)), Column("manager_data", String(50)))

    class Person:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    class Employee(Person):
        pass

    class Manager(Employee):
        pass

    reg = registry(metadata=md)
    reg.map_imperatively(Person, persons, polymorphic_on=persons.c.type,
                         polymorphic_identity="person")
    reg.map_imperatively(Employee, employees, inherits=Person, polymorphic_identity="employee")
    reg.map_imperatively(Manager, inherits=Employee, polymorphic_identity="manager")
    md.create_all(engine)
    s = make_session()
    s.add_all([Person(person_id=1, name="p1"),
               Employee(person_id=2, name="e1", employee_data="ed1"),
               Manager(person_id=3, name="m1", employee_data="ed2", manager_data="md1"),
               Manager(person_id=4, name="m2", employee_data="ed3", manager_data="md2")])
    s.commit()
    s.close()
    return Person, Employee, Manager


def test_unloaded_columns_after_a_query_of_the_base(classes, make_session):
    Person, Employee, Manager = classes
    s = make_session()
    found = s.query(Person).order_by(Person.person_id).all()
    assert [(p.name, getattr(p, "employee_data", None), getattr(p, "manager_data", None))
            for p in found] == [("p1", None, None), ("e1", "ed1", None),
                                ("m1", "ed2", "md1"), ("m2", "ed3", "md2")]


def test_expired_columns_and_refresh(classes, make_session):
    Person, Employee, Manager = classes
    s = make_session()
    m2 = s.get(Manager, 4)
    s.expire(m2)
    assert (m2.employee_data, m2.manager_data) == ("ed3", "md2")
    m2.manager_data = "changed"
    s.refresh(m2)
    assert m2.manager_data == "md2"
    m1 = s.get(Manager, 3)
    m1.name = "m1b"
    s.commit()  # expires both
    assert [(m.name, m.employee_data, m.manager_data) for m in (m1, m2)] == [
        ("m1b", "ed2", "md1"), ("m2", "ed3", "md2")]
