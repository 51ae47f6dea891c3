"""``__table_cls__``: a classmethod of a declarative class (or mixin) that makes its
Table from the arguments declarative would give ``Table``; returning None gives a
subclass no table of its own (single-table inheritance)."""

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table

from datamapper import declared_attr, inspect


def test_table_cls_makes_the_table(Base, engine, make_session, read_rows):
    class Prefixed:
        @classmethod
        def __table_cls__(cls, name, *args, **kw):
            return Table("app_" + name, *args, **kw)

    class Foo(Prefixed, Base):
        __tablename__ = "foo"
        id = Column(Integer, primary_key=True)
        data = Column(String(20))

    assert Foo.__table__.name == "app_foo"
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Foo(id=1, data="x"))
    s.commit()
    assert read_rows("SELECT id, data FROM app_foo") == [(1, "x")]


def test_table_cls_returning_none_maps_the_subclass_to_its_base_table(
        Base, engine, make_session, read_rows):
    class AutoTable:
        @declared_attr
        def __tablename__(cls):
            return cls.__name__.lower()

        @classmethod
        def __table_cls__(cls, *args, **kw):
            for obj in args[1:]:
                if (isinstance(obj, Column) and obj.primary_key) or \
                        isinstance(obj, PrimaryKeyConstraint):
                    return Table(*args, **kw)
            return None

    class Person(AutoTable, Base):
        id = Column(Integer, primary_key=True)
        kind = Column(String(20))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "person"}

    class Employee(Person):
        employee_name = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "employee"}

    assert inspect(Employee).local_table is Person.__table__
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Employee(id=1, employee_name="ed"))
    s.commit()
    assert read_rows("SELECT id, kind, employee_name FROM person") == [(1, "employee", "ed")]
