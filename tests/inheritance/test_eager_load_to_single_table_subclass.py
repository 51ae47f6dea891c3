"""A relationship whose target is a single-table subclass (``Company.engineers`` ->
``Engineer``): every loader reads the subclass's rows only, not every row of the
shared table that the join condition matches.  And ``polymorphic_abstract=True``:
a class of the hierarchy with no identity of its own."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.exc import InvalidRequestError

from datamapper import (
    DeclarativeBase,
    Mapped,
    declarative_base,
    immediateload,
    joinedload,
    mapped_column,
    relationship,
    select,
    selectinload,
    subqueryload,
)

LOADERS = [None, joinedload, selectinload, subqueryload, immediateload]


@pytest.fixture
def models(engine, make_session):
    Base = declarative_base()
    tags = Table("tags", Base.metadata,
                 Column("company_id", ForeignKey("company.id"), primary_key=True),
                 Column("employee_id", ForeignKey("employee.id"), primary_key=True))

    class Company(Base):
        __tablename__ = "company"
        id = Column(Integer, primary_key=True, autoincrement=False)
        engineers = relationship("Engineer", order_by="Employee.id")
        managers = relationship("Manager", order_by="Employee.id")
        tagged_engineers = relationship("Engineer", secondary=tags, order_by="Employee.id",
                                        viewonly=True)

    class Employee(Base):
        __tablename__ = "employee"
        id = Column(Integer, primary_key=True, autoincrement=False)
        company_id = Column(ForeignKey("company.id"))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "employee"}

    class Engineer(Employee):
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Employee):
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Desk(Base):
        __tablename__ = "desk"
        id = Column(Integer, primary_key=True, autoincrement=False)
        employee_id = Column(ForeignKey("employee.id"))
        engineer = relationship("Engineer")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Company(id=1, engineers=[Engineer(id=1), Engineer(id=3)],
                       managers=[Manager(id=2)]),
               Desk(id=1, employee_id=1), Desk(id=2, employee_id=2)])
    s.flush()
    s.execute(tags.insert(), [{"company_id": 1, "employee_id": i} for i in (1, 2)])
    s.commit()
    s.close()
    return Company, Employee, Engineer, Manager, Desk


def _kinds(objs):
    return [(type(o).__name__, o.id) for o in objs]


@pytest.mark.parametrize("loader", LOADERS)
def test_one_to_many_to_single_table_subclass_loads_its_rows_only(models, make_session,
                                                                  loader):
    Company, *_rest = models
    s = make_session()
    stmt = select(Company)
    if loader is not None:
        stmt = stmt.options(loader(Company.engineers), loader(Company.managers))
    (c,) = s.scalars(stmt).unique().all()
    assert _kinds(c.engineers) == [("Engineer", 1), ("Engineer", 3)]
    assert _kinds(c.managers) == [("Manager", 2)]


@pytest.mark.parametrize("loader", LOADERS)
def test_many_to_many_to_single_table_subclass_loads_its_rows_only(models, make_session,
                                                                   loader):
    Company, *_rest = models
    s = make_session()
    stmt = select(Company)
    if loader is not None:
        stmt = stmt.options(loader(Company.tagged_engineers))
    (c,) = s.scalars(stmt).unique().all()
    assert _kinds(c.tagged_engineers) == [("Engineer", 1)]


@pytest.mark.parametrize("loader", LOADERS)
def test_many_to_one_to_single_table_subclass_skips_other_classes(models, make_session,
                                                                  loader):
    *_rest, Desk = models
    s = make_session()
    stmt = select(Desk).order_by(Desk.id)
    if loader is not None:
        stmt = stmt.options(loader(Desk.engineer))
    got = [(d.id, d.engineer and (type(d.engineer).__name__, d.engineer.id))
           for d in s.scalars(stmt).unique()]
    assert got == [(1, ("Engineer", 1)), (2, None)]


@pytest.fixture
def abstract_models(engine):
    class Base(DeclarativeBase):
        pass

    class Company(Base):
        __tablename__ = "company"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        executives: Mapped[list["Executive"]] = relationship(order_by="Employee.id")
        technologists: Mapped[list["Technologist"]] = relationship(order_by="Employee.id")

    class Employee(Base):
        __tablename__ = "employee"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
        type: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_on": "type"}

    class Executive(Employee):
        __mapper_args__ = {"polymorphic_abstract": True}

    class Technologist(Employee):
        competencies: Mapped[str | None] = mapped_column(String(50))
        __mapper_args__ = {"polymorphic_abstract": True}

    class Manager(Executive):
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Engineer(Technologist):
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class SysAdmin(Technologist):
        __mapper_args__ = {"polymorphic_identity": "sysadmin"}

    Base.metadata.create_all(engine)
    return Base, Company, Employee, Executive, Technologist, Manager, Engineer, SysAdmin


def test_polymorphic_abstract_class_reads_its_subclasses_rows(abstract_models, make_session,
                                                              read_rows):
    _b, Company, _e, Executive, Technologist, Manager, Engineer, SysAdmin = abstract_models
    s = make_session()
    s.add(Company(id=1, technologists=[Engineer(id=1, competencies="Java"), SysAdmin(id=2)],
                  executives=[Manager(id=3)]))
    s.commit()
    assert read_rows("SELECT id, type FROM employee ORDER BY id") == [
        (1, "engineer"), (2, "sysadmin"), (3, "manager")]
    s.close()
    assert _kinds(s.scalars(select(Technologist).order_by(Technologist.id))) == [
        ("Engineer", 1), ("SysAdmin", 2)]
    assert _kinds(s.scalars(select(Executive))) == [("Manager", 3)]
    assert s.scalars(select(Company.id).join(Company.technologists)
                     .where(Technologist.competencies == "Java")).all() == [1]
    for loader in LOADERS:
        s.close()
        stmt = select(Company)
        if loader is not None:
            stmt = stmt.options(loader(Company.executives), loader(Company.technologists))
        (c,) = s.scalars(stmt).unique().all()
        assert _kinds(c.executives) == [("Manager", 3)]
        assert _kinds(c.technologists) == [("Engineer", 1), ("SysAdmin", 2)]


def test_polymorphic_abstract_class_refuses_instances(abstract_models):
    Technologist = abstract_models[4]
    with pytest.raises(InvalidRequestError, match="polymorphic_abstract=True"):
        Technologist()
    with pytest.raises(InvalidRequestError, match="polymorphic_abstract=True"):
        Technologist(type="engineer")


def test_polymorphic_abstract_needs_a_discriminator():
    class Base(DeclarativeBase):
        pass

    with pytest.raises(InvalidRequestError, match="polymorphic_on"):
        class Thing(Base):
            __tablename__ = "thing"
            id: Mapped[int] = mapped_column(primary_key=True)
            __mapper_args__ = {"polymorphic_abstract": True}
