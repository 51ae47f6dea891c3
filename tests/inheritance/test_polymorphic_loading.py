"""Loading subclass columns with a query of the base class: ``with_polymorphic()``
(the subclass tables joined into the same SELECT, plain or aliased),
``selectin_polymorphic()`` (one more SELECT per subclass), loader options on
relationships of a subclass, and ``of_type()`` along a relationship to a base class."""


import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, or_

from datamapper import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    relationship,
    selectin_polymorphic,
    selectinload,
    with_polymorphic,
)


def _joined_models():
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
        __mapper_args__ = {"polymorphic_identity": "employee", "polymorphic_on": "type"}

    class Manager(Employee):
        __tablename__ = "manager"
        id: Mapped[int] = mapped_column(ForeignKey("employee.id"), primary_key=True)
        manager_name: Mapped[str] = mapped_column(sa.String(30))
        paperwork: Mapped[list["Paperwork"]] = relationship(order_by="Paperwork.id")
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Paperwork(Base):
        __tablename__ = "paperwork"
        id: Mapped[int] = mapped_column(primary_key=True)
        manager_id: Mapped[int] = mapped_column(ForeignKey("manager.id"))
        document_name: Mapped[str] = mapped_column(sa.String(30))

    class Engineer(Employee):
        __tablename__ = "engineer"
        id: Mapped[int] = mapped_column(ForeignKey("employee.id"), primary_key=True)
        engineer_info: Mapped[str] = mapped_column(sa.String(50))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    return Base, Company, Employee, Manager, Engineer, Paperwork


@pytest.fixture
def joined(engine, make_session):
    Base, Company, Employee, Manager, Engineer, Paperwork = _joined_models()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Company(name="Krusty Krab", employees=[
        Manager(name="Mr. Krabs", manager_name="Eugene H. Krabs", paperwork=[
            Paperwork(document_name="Secret Recipes"), Paperwork(document_name="Orders")]),
        Engineer(name="SpongeBob", engineer_info="Krabby Patty Master"),
        Engineer(name="Squidward", engineer_info="Senior Engineer")]))
    s.commit()
    s.close()
    return Company, Employee, Manager, Engineer, Paperwork


def test_with_polymorphic_joins_subclass_tables_and_loads_their_columns(joined, make_session,
                                                                        sql_log):
    Company, Employee, Manager, Engineer, _p = joined
    s = make_session()
    poly = with_polymorphic(Employee, [Engineer, Manager])
    stmt = sa.select(poly).where(or_(poly.Manager.manager_name == "Eugene H. Krabs",
                                     poly.Engineer.engineer_info == "Senior Engineer")
                                 ).order_by(poly.id)
    sql_log.clear()
    objs = s.scalars(stmt).all()
    assert [(type(o).__name__, o.name) for o in objs] == [("Manager", "Mr. Krabs"),
                                                          ("Engineer", "Squidward")]
    assert len(sql_log.matching("SELECT")) == 1
    assert "LEFT OUTER JOIN engineer" in sql_log[0] and "LEFT OUTER JOIN manager" in sql_log[0]
    assert objs[0].manager_name == "Eugene H. Krabs"
    assert objs[1].engineer_info == "Senior Engineer"
    assert len(sql_log.matching("SELECT")) == 1  # the subclass columns came with the rows


def test_with_polymorphic_star_names_every_subclass(joined, make_session, sql_log):
    _c, Employee, Manager, Engineer, _p = joined
    s = make_session()
    poly = with_polymorphic(Employee, "*")
    objs = s.scalars(sa.select(poly).order_by(poly.id)).all()
    assert [type(o) for o in objs] == [Manager, Engineer, Engineer]
    sql_log.clear()
    assert [o.manager_name if isinstance(o, Manager) else o.engineer_info for o in objs] == [
        "Eugene H. Krabs", "Krabby Patty Master", "Senior Engineer"]
    assert sql_log.count == 0


@pytest.mark.parametrize("flat", [True, False])
def test_two_aliased_with_polymorphic_entities_join_each_other(joined, make_session, flat):
    _c, Employee, Manager, Engineer, _p = joined
    s = make_session()
    me = with_polymorphic(Employee, [Manager], aliased=True, flat=flat)
    ee = with_polymorphic(Employee, [Engineer], aliased=True, flat=flat)
    stmt = (sa.select(me, ee).join(ee, ee.company_id == me.company_id)
            .where(or_(me.name == "Mr. Krabs", me.Manager.manager_name == "Eugene H. Krabs"))
            .order_by(ee.name, me.name))
    rows = [(m.name, e.name) for m, e in s.execute(stmt)]
    assert rows == [("Mr. Krabs", "Mr. Krabs"), ("Mr. Krabs", "SpongeBob"),
                    ("Mr. Krabs", "Squidward")]


def test_of_type_subclass_joins_its_table_inside_the_join(joined, make_session):
    Company, _e, _m, Engineer, _p = joined
    s = make_session()
    stmt = (sa.select(Company.name, Engineer.name)
            .join(Company.employees.of_type(Engineer))
            .where(or_(Engineer.name == "SpongeBob", Engineer.engineer_info == "Senior Engineer"))
            .order_by(Engineer.name))
    assert "JOIN (employee JOIN engineer" in str(stmt)
    assert s.execute(stmt).all() == [("Krusty Krab", "SpongeBob"), ("Krusty Krab", "Squidward")]


def test_of_type_with_polymorphic_in_a_join(joined, make_session):
    Company, Employee, _m, Engineer, _p = joined
    s = make_session()
    poly = with_polymorphic(Employee, [Engineer])
    stmt = (sa.select(Company.name, poly.name).join(Company.employees.of_type(poly))
            .where(or_(poly.name == "SpongeBob", poly.Engineer.engineer_info == "Senior Engineer"))
            .order_by(poly.name))
    assert s.execute(stmt).all() == [("Krusty Krab", "SpongeBob"), ("Krusty Krab", "Squidward")]


def test_selectin_polymorphic_loads_each_subclass_in_one_more_select(joined, make_session,
                                                                     sql_log):
    _c, Employee, Manager, Engineer, _p = joined
    s = make_session()
    sql_log.clear()
    stmt = sa.select(Employee).order_by(Employee.id).options(
        selectin_polymorphic(Employee, [Manager, Engineer]))
    objs = s.scalars(stmt).all()
    assert len(sql_log.matching("SELECT")) == 3  # the employees, then managers, engineers
    sql_log.clear()
    assert objs[0].manager_name == "Eugene H. Krabs"
    assert [o.engineer_info for o in objs[1:]] == ["Krabby Patty Master", "Senior Engineer"]
    assert sql_log.count == 0


def test_selectinload_of_a_subclass_relationship_from_the_base_query(joined, make_session,
                                                                      sql_log):
    _c, Employee, Manager, Engineer, _p = joined
    s = make_session()
    stmt = sa.select(Employee).order_by(Employee.id).options(
        selectin_polymorphic(Employee, [Manager, Engineer]), selectinload(Manager.paperwork))
    objs = s.scalars(stmt).all()
    sql_log.clear()
    assert [p.document_name for p in objs[0].paperwork] == ["Secret Recipes", "Orders"]
    assert sql_log.count == 0
    assert "paperwork" not in objs[1].__dict__


def test_polymorphic_options_below_a_relationship(joined, make_session, sql_log):
    Company, Employee, Manager, Engineer, _p = joined
    s = make_session()
    stmt = sa.select(Company).options(selectinload(Company.employees).options(
        selectin_polymorphic(Employee, [Manager, Engineer]), selectinload(Manager.paperwork)))
    (company,) = s.scalars(stmt).all()
    sql_log.clear()
    mgr = company.employees[0]
    assert (mgr.manager_name, [p.document_name for p in mgr.paperwork]) == (
        "Eugene H. Krabs", ["Secret Recipes", "Orders"])
    assert company.employees[1].engineer_info == "Krabby Patty Master"
    assert sql_log.count == 0
    s.close()
    s = make_session()
    stmt = sa.select(Company).options(
        selectinload(Company.employees).selectin_polymorphic([Manager, Engineer]))
    (company,) = s.scalars(stmt).all()
    sql_log.clear()
    assert company.employees[2].engineer_info == "Senior Engineer"
    assert sql_log.count == 0


def test_selectinload_of_type_with_polymorphic_reads_subclass_columns(joined, make_session,
                                                                     sql_log):
    Company, Employee, Manager, _e, _p = joined
    s = make_session()
    everyone = with_polymorphic(Employee, "*")
    stmt = sa.select(Company).options(selectinload(Company.employees.of_type(everyone)))
    (company,) = s.scalars(stmt).all()
    assert len(sql_log.matching("SELECT")) == 2
    sql_log.clear()
    assert company.employees[0].manager_name == "Eugene H. Krabs"
    assert company.employees[1].engineer_info == "Krabby Patty Master"
    assert sql_log.count == 0


def test_contains_eager_of_a_subclass_relationship_the_query_does_not_read_is_refused(
        joined, make_session):
    from datamapper import contains_eager

    _c, Employee, Manager, _e, _p = joined
    s = make_session()
    with pytest.raises(sa.exc.ArgumentError, match="belongs to a subclass"):
        s.scalars(sa.select(Employee).options(contains_eager(Manager.paperwork))).all()


def test_with_polymorphic_of_a_class_outside_the_hierarchy_is_refused(joined):
    Company, Employee, _m, _e, _p = joined
    with pytest.raises(sa.exc.InvalidRequestError, match="not a subclass of Employee"):
        with_polymorphic(Employee, [Company])


def test_with_polymorphic_of_a_base_or_sibling_class_is_refused(joined):
    _c, Employee, Manager, Engineer, _p = joined
    for wrong in (Employee, Manager):
        with pytest.raises(sa.exc.InvalidRequestError, match="not a subclass of Engineer"):
            with_polymorphic(Engineer, [wrong])


def test_with_polymorphic_single_table_adds_subclass_columns(engine, make_session, sql_log):
    class Base(DeclarativeBase):
        pass

    class Employee(Base):
        __tablename__ = "employee"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(30))
        type: Mapped[str] = mapped_column(sa.String(20))
        __mapper_args__ = {"polymorphic_identity": "employee", "polymorphic_on": "type"}

    class Manager(Employee):
        manager_name: Mapped[str] = mapped_column(sa.String(30), nullable=True)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Engineer(Employee):
        engineer_info: Mapped[str] = mapped_column(sa.String(30), nullable=True)
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Manager(name="k", manager_name="E"), Engineer(name="s", engineer_info="I")])
    s.commit()
    s.close()
    poly = with_polymorphic(Employee, "*")
    objs = s.scalars(sa.select(poly).order_by(poly.id)).all()
    sql_log.clear()
    assert (objs[0].manager_name, objs[1].engineer_info) == ("E", "I")
    assert sql_log.count == 0


def test_polymorphic_load_inline_subclass_columns_come_with_base_queries(
        metadata, engine, make_session, sql_log):
    """Single-table subclasses with polymorphic_load="inline": a query of the base
    selects their columns too (print() shows them), so reading them afterwards
    costs no statement."""
    from datamapper import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    Base.metadata = metadata
    Base.registry.metadata = metadata

    class Emp(Base):
        __tablename__ = "inl_employee"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(30))
        type: Mapped[str] = mapped_column(sa.String(20))
        __mapper_args__ = {"polymorphic_identity": "employee", "polymorphic_on": "type"}

    class Mgr(Emp):
        manager_name: Mapped[str] = mapped_column(sa.String(30), nullable=True)
        __mapper_args__ = {"polymorphic_identity": "manager", "polymorphic_load": "inline"}

    class Eng(Emp):
        engineer_info: Mapped[str] = mapped_column(sa.String(30), nullable=True)
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    assert "inl_employee.manager_name" in str(sa.select(Emp))
    assert "engineer_info" not in str(sa.select(Emp))  # not inline: loaded on access
    metadata.create_all(engine)
    s = make_session()
    s.add_all([Mgr(id=1, name="m", manager_name="mm"), Eng(id=2, name="e", engineer_info="ei")])
    s.commit()
    s.close()
    s = make_session()
    objs = s.scalars(sa.select(Emp).order_by(Emp.id)).all()
    sql_log.clear()
    assert objs[0].manager_name == "mm"
    assert sql_log.count == 0
    assert objs[1].engineer_info == "ei"
    assert sql_log.count == 1
