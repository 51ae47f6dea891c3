"""A self-referential relationship over a composite key that shares a column with
another relationship: employee (company_id, emp_id) reports to (company_id,
reports_to_id) of the same company.  company_id = company_id tells no direction;
the many-to-one set to None does not clear the company_id another relationship
copies; unlinking a persistent employee would NULL its primary key and is refused."""

import warnings

import pytest
from sqlalchemy import Column, ForeignKeyConstraint, Integer, MetaData, String, Table

from datamapper import configure_mappers, exc, registry, relationship
from datamapper.mapping.relationships import MANYTOONE, ONETOMANY


@pytest.fixture
def Org(engine):
    md = MetaData()
    company_t = Table("cs_company", md, Column("company_id", Integer, primary_key=True),
                      Column("name", String(30)))
    employee_t = Table(
        "cs_employee", md,
        Column("company_id", Integer, primary_key=True),
        Column("emp_id", Integer, primary_key=True),
        Column("name", String(30)), Column("reports_to_id", Integer),
        ForeignKeyConstraint(["company_id"], ["cs_company.company_id"]),
        ForeignKeyConstraint(["company_id", "reports_to_id"],
                             ["cs_employee.company_id", "cs_employee.emp_id"]))

    class Company:
        def __init__(self, name):
            self.name = name

    class Employee:
        def __init__(self, name, company, emp_id, reports_to=None):
            self.name, self.company, self.emp_id = name, company, emp_id
            self.reports_to = reports_to

    reg = registry(metadata=md)
    reg.map_imperatively(Company, company_t)
    reg.map_imperatively(Employee, employee_t, properties={
        "company": relationship(Company, backref="employees"),
        "reports_to": relationship(
            Employee, remote_side=[employee_t.c.emp_id, employee_t.c.company_id],
            backref="employees")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both write company_id: the overlap warning
        configure_mappers()
    md.create_all(engine)
    return Company, Employee, employee_t


def test_directions_and_pairs(Org):
    _Company, Employee, t = Org
    rt, emps = Employee.reports_to.property, Employee.employees.property
    assert rt.direction is MANYTOONE and emps.direction is ONETOMANY
    assert set(rt.local_remote_pairs) == {(t.c.company_id, t.c.company_id),
                                          (t.c.reports_to_id, t.c.emp_id)}
    assert set(emps.local_remote_pairs) == {(t.c.company_id, t.c.company_id),
                                            (t.c.emp_id, t.c.reports_to_id)}


def test_rows_written_and_loaded(Org, make_session, read_rows):
    Company, Employee, _t = Org
    s = make_session()
    c1, c2 = Company("c1"), Company("c2")
    e1 = Employee("emp1", c1, 1)
    Employee("emp2", c1, 2, e1)
    e3 = Employee("emp3", c1, 3, e1)
    Employee("emp4", c1, 4, e3)
    e5 = Employee("emp5", c2, 1)
    Employee("emp6", c2, 2, e5)
    s.add_all([c1, c2])
    s.commit()
    assert read_rows("SELECT company_id, emp_id, reports_to_id FROM cs_employee "
                     "ORDER BY company_id, emp_id") == [
        (c1.company_id, 1, None), (c1.company_id, 2, 1), (c1.company_id, 3, 1),
        (c1.company_id, 4, 3), (c2.company_id, 1, None), (c2.company_id, 2, 1)]
    s.close()
    s = make_session()
    boss = s.get(Employee, (c1.company_id, 1))
    assert sorted(e.name for e in boss.employees) == ["emp2", "emp3"]
    assert s.get(Employee, (c2.company_id, 2)).reports_to.name == "emp5"


def test_unlinking_would_blank_the_shared_key_column(Org, make_session, read_rows):
    Company, Employee, _t = Org
    s = make_session()
    c1 = Company("c1")
    e1 = Employee("emp1", c1, 1)
    Employee("emp2", c1, 2, e1)
    s.add(c1)
    s.commit()
    e2 = s.get(Employee, (c1.company_id, 2))
    e2.reports_to = None
    with pytest.raises(exc.BlankedPrimaryKeyError, match="cs_employee.company_id"):
        s.flush()
    s.rollback()
    assert read_rows("SELECT emp_id, reports_to_id FROM cs_employee ORDER BY emp_id") == [
        (1, None), (2, 1)]
