"""The backref of a self-referential many-to-one whose composite key shares a column with
the referenced key (employee (company_id, reports_to_id) -> (company_id, emp_id), the
company_id on both sides of ``remote(company_id) == company_id``) joins each
occurrence of the shared column to its own side: a manager's employees are those of
the manager's company only.  The reverse side compared ``company_id`` of the related
row with itself (always true), so joinedload() gave a manager the reports of every
company's manager with the same number."""

import pytest
import sqlalchemy as sa

from datamapper import aliased, backref, joinedload, relationship, remote, selectinload


@pytest.fixture
def employees(Base, engine, session):
    class Company(Base):
        __tablename__ = "company_t"
        company_id = sa.Column(sa.Integer, primary_key=True)

    class Employee(Base):
        __tablename__ = "employee_t"
        company_id = sa.Column(sa.Integer, sa.ForeignKey("company_t.company_id"),
                               primary_key=True)
        emp_id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(30))
        reports_to_id = sa.Column(sa.Integer)
        __table_args__ = (sa.ForeignKeyConstraint(
            ["company_id", "reports_to_id"], ["employee_t.company_id", "employee_t.emp_id"]),)

    t = Employee.__table__
    Employee.reports_to = relationship(
        Employee,
        primaryjoin=sa.and_(remote(t.c.emp_id) == t.c.reports_to_id,
                            remote(t.c.company_id) == t.c.company_id),
        backref=backref("employees", order_by=t.c.emp_id))
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(Company.__table__.insert(), [{"company_id": 1}, {"company_id": 2}])
        conn.execute(t.insert(), [
            {"company_id": 1, "emp_id": 1, "name": "boss1", "reports_to_id": None},
            {"company_id": 1, "emp_id": 2, "name": "e2", "reports_to_id": 1},
            {"company_id": 2, "emp_id": 1, "name": "boss2", "reports_to_id": None},
            {"company_id": 2, "emp_id": 5, "name": "e5", "reports_to_id": 1},
        ])
    return Employee


def _reports(rows):
    return [(e.name, [r.name for r in e.employees]) for e in rows]


EXPECTED = [("boss1", ["e2"]), ("e2", []), ("boss2", ["e5"]), ("e5", [])]


def test_joinedload_of_the_backref_matches_the_shared_column(employees, session, sql_log):
    Employee = employees
    sql_log.clear()
    rows = session.query(Employee).options(joinedload(Employee.employees)).order_by(
        Employee.company_id, Employee.emp_id).all()
    assert _reports(rows) == EXPECTED
    assert len(sql_log.statements) == 1
    assert "employee_t.company_id = employee_t_1.company_id" in sql_log.statements[0]


def test_lazy_and_selectin_loads_of_the_backref(employees, session, sql_log):
    Employee = employees
    boss2 = session.get(Employee, (2, 1))
    sql_log.clear()
    assert [e.name for e in boss2.employees] == ["e5"]
    assert "employee_t.company_id = employee_t.company_id" not in sql_log.statements[-1]
    session.expunge_all()
    rows = session.query(Employee).options(selectinload(Employee.employees)).order_by(
        Employee.company_id, Employee.emp_id).all()
    assert _reports(rows) == EXPECTED


def test_join_and_any_along_the_backref(employees, session):
    Employee = employees
    ea = aliased(Employee)
    assert session.query(Employee.name, ea.name).join(
        Employee.employees.of_type(ea)).order_by(Employee.company_id, ea.emp_id).all() == [
        ("boss1", "e2"), ("boss2", "e5")]
    assert session.query(Employee.name).filter(
        Employee.employees.any(Employee.name == "e5")).all() == [("boss2",)]


def test_appending_to_the_backref_writes_both_key_columns(employees, session, read_rows):
    Employee = employees
    boss2 = session.get(Employee, (2, 1))
    boss2.employees.append(Employee(emp_id=9, name="new"))
    session.commit()
    assert read_rows(
        "SELECT company_id, emp_id, reports_to_id FROM employee_t WHERE emp_id = 9"
    ) == [(2, 9, 1)]
