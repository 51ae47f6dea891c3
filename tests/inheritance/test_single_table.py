"""Single-table inheritance: subclasses without a table of their own, told apart by a
discriminator column (``polymorphic_on``/``polymorphic_identity``)."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.exc import ArgumentError

from datamapper import declarative_base, registry, relationship, select
from datamapper.loading.polymorphic import UnknownDiscriminatorError


def _models():
    Base = declarative_base()

    class Company(Base):
        __tablename__ = "companies"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        employees = relationship("Employee", back_populates="company",
                                 order_by="Employee.id")

    class Employee(Base):
        __tablename__ = "employees"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        kind = Column(String(20))
        company_id = Column(ForeignKey("companies.id"))
        company = relationship("Company", back_populates="employees")
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "employee"}

    class Engineer(Employee):
        language = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Employee):
        budget = Column(Integer)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    return Base, Company, Employee, Engineer, Manager


@pytest.fixture
def models(engine):
    Base, *classes = _models()
    Base.metadata.create_all(engine)
    return (Base.metadata.tables["employees"], *classes)


def test_insert_writes_each_class_discriminator(models, make_session, read_rows):
    employees, _c, Employee, Engineer, Manager = models
    assert Engineer().kind == "engineer"  # set from the start, as in SQLAlchemy
    s = make_session()
    s.add_all([Employee(name="e"), Engineer(name="g", language="py"),
               Manager(name="m", budget=10)])
    s.commit()
    assert read_rows(employees) == [
        (1, "e", "employee", None, None, None),
        (2, "g", "engineer", None, "py", None),
        (3, "m", "manager", None, None, 10),
    ]


def test_base_query_returns_each_row_as_its_class(models, make_session, sql_log):
    _t, _c, Employee, Engineer, Manager = models
    s = make_session()
    s.add_all([Employee(name="e"), Engineer(name="g", language="py"),
               Manager(name="m", budget=10)])
    s.commit()
    s.close()
    sql_log.clear()
    found = s.query(Employee).order_by(Employee.id).all()
    assert [type(o) for o in found] == [Employee, Engineer, Manager]
    assert sql_log.count == 1
    assert "language" not in sql_log.statements[0]  # subclass columns not selected
    # a subclass attribute the SELECT did not read loads on first access
    assert found[1].language == "py"
    assert found[2].budget == 10
    assert sql_log.count == 3


def test_subclass_query_limits_rows_by_discriminator(models, make_session, sql_log):
    _t, _c, Employee, Engineer, Manager = models
    s = make_session()
    s.add_all([Employee(name="e"), Engineer(name="g", language="py"),
               Engineer(name="h", language="c"), Manager(name="m", budget=1)])
    s.commit()
    sql_log.clear()
    assert [e.name for e in s.query(Engineer).order_by(Engineer.id)] == ["g", "h"]
    assert "employees.kind IN" in sql_log.statements[-1]
    assert [m.name for m in s.scalars(select(Manager))] == ["m"]
    assert s.query(Manager).count() == 1


def test_get_of_base_returns_subclass_object_and_one_identity(models, make_session):
    _t, _c, Employee, Engineer, Manager = models
    s = make_session()
    s.add(Engineer(id=7, name="g", language="py"))
    s.commit()
    s.close()
    g = s.get(Employee, 7)
    assert type(g) is Engineer
    assert s.query(Engineer).one() is g
    assert s.get(Engineer, 7) is g
    assert s.get(Manager, 7) is None  # the row is an Engineer's
    s.close()
    assert s.get(Manager, 7) is None


def test_update_and_delete_of_subclass(models, make_session, read_rows):
    employees, _c, Employee, Engineer, _m = models
    s = make_session()
    s.add(Engineer(name="g", language="py"))
    s.commit()
    g = s.query(Employee).one()
    g.language = "rust"
    s.commit()
    assert read_rows(employees) == [(1, "g", "engineer", None, "rust", None)]
    s.delete(g)
    s.commit()
    assert read_rows(employees) == []


def test_relationship_to_base_loads_subclasses(models, make_session, read_rows):
    _t, Company, Employee, Engineer, Manager = models
    s = make_session()
    c = Company(name="acme", employees=[Engineer(name="g"), Manager(name="m")])
    s.add(c)
    s.commit()
    s.close()
    c = s.query(Company).one()
    assert [type(e) for e in c.employees] == [Engineer, Manager]
    assert c.employees[0].company is c


def test_unknown_discriminator_value_is_named(models, make_session, engine):
    employees, _c, Employee, _g, _m = models
    with engine.begin() as conn:
        conn.execute(employees.insert().values(id=1, name="x", kind="intern"))
    s = make_session()
    with pytest.raises(UnknownDiscriminatorError, match="'intern'"):
        s.query(Employee).all()


def test_polymorphic_identity_without_discriminator_is_refused():
    Base = declarative_base()

    class Thing(Base):
        __tablename__ = "things"
        id = Column(Integer, primary_key=True)

    with pytest.raises(ArgumentError, match="polymorphic_on"):
        class Sub(Thing):
            __mapper_args__ = {"polymorphic_identity": "sub"}


def test_imperative_single_table_inheritance(engine, make_session, read_rows):
    reg = registry()
    t = Table("animals", reg.metadata, Column("id", Integer, primary_key=True),
              Column("kind", String(10)), Column("name", String(20)),
              Column("barks", Integer))

    class Animal:
        pass

    class Dog(Animal):
        pass

    reg.map_imperatively(Animal, t, polymorphic_on=t.c.kind, polymorphic_identity="animal")
    reg.map_imperatively(Dog, inherits=Animal, polymorphic_identity="dog")
    reg.metadata.create_all(engine)
    s = make_session()
    s.add_all([Animal(name="a"), Dog(name="d", barks=3)])
    s.commit()
    assert read_rows(t) == [(1, "animal", "a", None), (2, "dog", "d", 3)]
    s.close()
    assert [type(a) for a in s.query(Animal).order_by(Animal.id)] == [Animal, Dog]
    assert s.query(Dog).one().barks == 3


@pytest.mark.parametrize("style", ["declarative", "imperative"])
def test_columns_mapped_under_another_name_are_written_by_subclasses(
        engine, make_session, read_rows, style):
    """The base maps column ``type`` as ``discriminator`` and ``name`` as ``full_name``:
    a single-table subclass maps them under those names only (it used to map them again
    under the column keys, whose None values were written over the right ones)."""
    if style == "declarative":
        Base = declarative_base()

        class Person(Base):
            __tablename__ = "renamed_people"
            id = Column(Integer, primary_key=True)
            full_name = Column("name", String(30))
            discriminator = Column("type", String(20))
            __mapper_args__ = {"polymorphic_on": discriminator,
                               "polymorphic_identity": "person"}

        class Engineer(Person):
            language = Column(String(20))
            __mapper_args__ = {"polymorphic_identity": "engineer"}

        table = Person.__table__
        metadata = Base.metadata
    else:
        reg = registry()
        metadata = reg.metadata
        table = Table("renamed_people", metadata, Column("id", Integer, primary_key=True),
                      Column("name", String(30)), Column("type", String(20)),
                      Column("language", String(20)))

        class Person:
            pass

        class Engineer(Person):
            pass

        reg.map_imperatively(Person, table, properties={
            "full_name": table.c.name, "discriminator": table.c.type},
            polymorphic_on=table.c.type, polymorphic_identity="person")
        reg.map_imperatively(Engineer, inherits=Person, polymorphic_identity="engineer")

    from datamapper import inspect

    assert "type" not in inspect(Engineer).attrs and "name" not in inspect(Engineer).attrs
    metadata.create_all(engine)
    s = make_session()
    e = Engineer()
    e.full_name, e.language = "dilbert", "java"
    s.add(e)
    s.commit()
    assert read_rows(table) == [(1, "dilbert", "engineer", "java")]
    e.full_name = "wally"
    s.commit()
    assert read_rows(table) == [(1, "wally", "engineer", "java")]
    s.close()
    assert [type(p) for p in s.query(Person)] == [Engineer]


def test_query_of_subclass_attributes_reads_only_the_subclass_rows(models, make_session):
    """Selecting a single-table subclass's attributes (not the class) still limits the
    rows to that subclass, in every way of writing the query."""
    import sqlalchemy as sa

    from datamapper import Bundle, aliased

    _t, Company, Employee, Engineer, Manager = models
    s = make_session()
    s.add_all([Employee(name="e"), Engineer(name="g1"), Manager(name="m"),
               Engineer(name="g2")])
    s.commit()
    assert s.scalars(select(Engineer.name).order_by(Engineer.id)).all() == ["g1", "g2"]
    assert s.scalars(sa.select(Engineer.name).order_by(Engineer.id)).all() == ["g1", "g2"]
    assert s.query(Engineer.name).order_by(Engineer.id).all() == [("g1",), ("g2",)]
    assert s.scalar(select(sa.func.count(Engineer.id))) == 2
    assert s.scalar(sa.select(sa.func.count(Manager.id))) == 1
    assert s.query(Bundle("b", Manager.name)).all() == [(("m",),)]
    # inside another statement
    assert s.scalars(select(Employee.name).where(Employee.id.in_(select(Manager.id)))
                     ).all() == ["m"]
    ea = aliased(Engineer)
    assert s.scalars(sa.select(ea.name).order_by(ea.id)).all() == ["g1", "g2"]
    assert s.scalars(select(ea.name).order_by(ea.id)).all() == ["g1", "g2"]
    # the base class's attributes read every row
    assert s.scalar(select(sa.func.count(Employee.id))) == 4


def test_join_and_has_of_type_single_table_subclass_match_only_its_rows(models, make_session):
    from datamapper import aliased

    _t, Company, Employee, Engineer, Manager = models
    s = make_session()
    s.add_all([Company(name="only managers", employees=[Manager(name="m")]),
               Company(name="engineers", employees=[Engineer(name="g"), Manager(name="n")])])
    s.commit()
    via = Company.employees.of_type(Engineer)
    assert s.scalars(select(Company.name).join(via)).all() == ["engineers"]
    assert s.query(Company.name).join(via).all() == [("engineers",)]
    assert s.scalars(select(Company.name).where(via.any())).all() == ["engineers"]
    assert s.scalars(select(Company.name).where(
        Company.employees.of_type(Manager).any(Manager.name == "m"))).all() == ["only managers"]
    ea = aliased(Engineer)
    assert s.execute(select(Company.name, ea.name).join(Company.employees.of_type(ea))
                     ).all() == [("engineers", "g")]
