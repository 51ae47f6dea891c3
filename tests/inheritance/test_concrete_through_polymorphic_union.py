"""Concrete inheritance loaded through the base: the base class mapped to a
``polymorphic_union()`` of the subclasses' tables with ``polymorphic_on`` its
``type`` column, each ``concrete=True`` subclass mapped to its own table with a
``polymorphic_identity``.  A query of the base reads the UNION and loads each row
as the class its ``type`` names (was: every row as the base class); a query of a
subclass reads its own table; a flush writes each object to its own table."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from datamapper import polymorphic_union, registry, relationship, select


@pytest.fixture
def concrete(engine, make_session):
    metadata = MetaData()
    companies = Table("companies", metadata, Column("id", Integer, primary_key=True),
                      Column("name", String(30)))
    managers = Table("managers", metadata,
                     Column("employee_id", Integer, primary_key=True),
                     Column("name", String(30)), Column("manager_data", String(30)),
                     Column("company_id", ForeignKey("companies.id")))
    engineers = Table("engineers", metadata,
                      Column("employee_id", Integer, primary_key=True),
                      Column("name", String(30)), Column("engineer_info", String(30)),
                      Column("company_id", ForeignKey("companies.id")))
    pjoin = polymorphic_union({"manager": managers, "engineer": engineers}, "type",
                              "pjoin")

    class Company:
        pass

    class Employee:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    class Manager(Employee):
        pass

    class Engineer(Employee):
        pass

    reg = registry()
    employee = reg.map_imperatively(Employee, pjoin, polymorphic_on=pjoin.c.type)
    reg.map_imperatively(Manager, managers, inherits=employee, concrete=True,
                         polymorphic_identity="manager")
    reg.map_imperatively(Engineer, engineers, inherits=employee, concrete=True,
                         polymorphic_identity="engineer")
    reg.map_imperatively(Company, companies, properties={
        "employees": relationship(Employee, order_by=pjoin.c.name)})
    metadata.create_all(engine)
    yield Company, Employee, Manager, Engineer
    reg.dispose()


def test_query_of_base_loads_each_row_as_its_class(concrete, make_session, read_rows):
    Company, Employee, Manager, Engineer = concrete
    s = make_session()
    s.add_all([Manager(employee_id=1, name="sally", manager_data="manages"),
               Engineer(employee_id=2, name="karina", engineer_info="hacks")])
    s.commit()
    assert read_rows("SELECT name, manager_data FROM managers") == [("sally", "manages")]
    assert read_rows("SELECT name, engineer_info FROM engineers") == [("karina", "hacks")]
    s.close()
    got = s.query(Employee).order_by(Employee.name).all()
    assert [(type(o), o.name) for o in got] == [(Engineer, "karina"), (Manager, "sally")]
    assert got[0].engineer_info == "hacks" and got[1].manager_data == "manages"
    s.close()
    got = s.scalars(select(Employee).where(Employee.name == "sally")).all()
    assert [type(o) for o in got] == [Manager]
    # a subclass's own query reads its table
    assert [(type(o), o.name) for o in s.scalars(select(Manager))] == [(Manager, "sally")]
    # an attribute of the subclass's table that the union did not read loads on access
    m = s.query(Manager).one()
    s.expire(m, ["manager_data"])
    assert m.manager_data == "manages"


def test_relationship_to_base_loads_subclass_objects(concrete, make_session):
    Company, Employee, Manager, Engineer = concrete
    s = make_session()
    c = Company()
    c.id, c.name = 1, "acme"
    s.add(c)
    s.add_all([Manager(employee_id=1, name="sally", manager_data="m", company_id=1),
               Engineer(employee_id=2, name="karina", engineer_info="e", company_id=1)])
    s.commit()
    s.close()
    c = s.get(Company, 1)
    assert [(type(o), o.name) for o in c.employees] == [(Engineer, "karina"),
                                                        (Manager, "sally")]


def test_objects_added_through_relationship_to_base_get_the_key(concrete, make_session,
                                                                read_rows):
    Company, Employee, Manager, Engineer = concrete
    s = make_session()
    c = Company()
    c.id, c.name = 1, "acme"
    c.employees = [Manager(employee_id=1, name="sally", manager_data="m"),
                   Engineer(employee_id=2, name="karina", engineer_info="e")]
    s.add(c)
    s.commit()
    assert read_rows("SELECT name, company_id FROM managers") == [("sally", 1)]
    assert read_rows("SELECT name, company_id FROM engineers") == [("karina", 1)]
    s.close()
    c = s.get(Company, 1)
    assert sorted(type(o).__name__ for o in c.employees) == ["Engineer", "Manager"]
    c.employees.remove(next(o for o in c.employees if o.name == "sally"))
    s.commit()
    assert read_rows("SELECT name, company_id FROM managers") == [("sally", None)]
