"""A Core ``select()`` of a class whose mapping names ``with_polymorphic`` (its rows
read from its table outer joined to the subclass tables) joins along the class's
relationships from that join: ``select(Employee).join(Employee.company)`` (was
InvalidRequestError: Can't identify which entity in which to assign the left side of
this join)."""

import sqlalchemy as sa
from sqlalchemy import ForeignKey

from datamapper import DeclarativeBase, Mapped, mapped_column, relationship


def _models():
    class Base(DeclarativeBase):
        pass

    class Company(Base):
        __tablename__ = "company"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(30))
        employees: Mapped[list["Employee"]] = relationship(back_populates="company",
                                                           order_by="Employee.id")

    class Employee(Base):
        __tablename__ = "employee"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(30))
        type: Mapped[str] = mapped_column(sa.String(20))
        company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
        company: Mapped[Company] = relationship(back_populates="employees")
        __mapper_args__ = {"polymorphic_identity": "employee", "polymorphic_on": "type",
                           "with_polymorphic": "*"}

    class Engineer(Employee):
        __tablename__ = "engineer"
        id: Mapped[int] = mapped_column(ForeignKey("employee.id"), primary_key=True)
        language: Mapped[str] = mapped_column(sa.String(30))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    return Base, Company, Employee, Engineer


def test_core_select_of_the_class_joins_its_relationship(engine, make_session, sql_log):
    Base, Company, Employee, Engineer = _models()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Company(name="acme", employees=[Employee(name="ann"),
                                               Engineer(name="bob", language="py")]),
               Company(name="other", employees=[Engineer(name="cy", language="c")])])
    s.commit()
    s.close()
    sql_log.clear()
    stmt = sa.select(Employee).join(Employee.company).where(Company.name == "acme") \
        .order_by(Employee.id)
    found = s.scalars(stmt).all()
    assert [(type(e).__name__, e.name) for e in found] == [("Employee", "ann"),
                                                            ("Engineer", "bob")]
    assert found[1].language == "py"
    sent = sql_log.matching("SELECT")[-1]
    assert sent.count("FROM") == 1 and "JOIN company" in sent
    rows = s.execute(sa.select(Employee, Company).join(Employee.company)
                     .order_by(Employee.id)).all()
    assert [(e.name, c.name) for e, c in rows] == [("ann", "acme"), ("bob", "acme"),
                                                   ("cy", "other")]
