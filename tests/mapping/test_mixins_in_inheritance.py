"""Mixin columns in an inheritance hierarchy, as SQLAlchemy's declarative does it: a
mixin of the base class gives its columns to the base table only (a joined subclass
inherits them, its own table gets no copies), a plain ``declared_attr`` runs for the
base only, ``declared_attr.cascading`` runs for every class, and a mixin of the
subclass alone gives its columns to the subclass.  Rows are written and read back on a
separate connection, so a copied column would show as a wrong table shape or row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Integer, String, select

from datamapper import DeclarativeBase, Mapped, Session, declared_attr, mapped_column


def _base(metadata: Any) -> Any:
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(30)}  # MariaDB needs VARCHAR lengths

    Base.registry.metadata = metadata
    return Base


def test_joined_subclass_inherits_mixin_columns_instead_of_copying_them(
        metadata, engine, read_rows):
    Base = _base(metadata)
    calls = []

    class Stamped:
        note: Mapped[str] = mapped_column(default="n")

        @declared_attr
        def revision(cls) -> Mapped[int]:
            calls.append(cls.__name__)
            return mapped_column(Integer, default=1)

    class Tagged:
        tag: Mapped[str] = mapped_column(default="t")

    class Item(Stamped, Base):
        __tablename__ = "mx_items"
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str]
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "item"}

    class Book(Tagged, Item):
        __tablename__ = "mx_books"
        id: Mapped[int] = mapped_column(ForeignKey("mx_items.id"), primary_key=True)
        pages: Mapped[int] = mapped_column(default=0)
        __mapper_args__ = {"polymorphic_identity": "book"}

    assert [c.name for c in Item.__table__.c] == ["id", "kind", "note", "revision"]
    assert [c.name for c in Book.__table__.c] == ["id", "pages", "tag"]
    assert calls == ["Item"]
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Book(id=1, note="first", revision=3, pages=10, tag="x"))
        s.commit()
    assert read_rows(Item.__table__) == [(1, "book", "first", 3)]
    assert read_rows(Book.__table__) == [(1, 10, "x")]
    with Session(engine) as s:
        book = s.scalars(select(Item)).one()
        assert (type(book), book.note, book.revision, book.tag) == (Book, "first", 3, "x")


def test_cascading_declared_attr_runs_for_every_class(metadata, engine, read_rows):
    Base = _base(metadata)
    calls = []

    class HasId:
        @declared_attr.cascading
        def id(cls) -> Mapped[int]:
            calls.append(cls.__name__)
            if cls.__name__ == "Car":
                return mapped_column(ForeignKey("mx_vehicles.id"), primary_key=True)
            return mapped_column(Integer, primary_key=True)

    class Vehicle(HasId, Base):
        __tablename__ = "mx_vehicles"
        kind: Mapped[str]
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "vehicle"}

    class Car(Vehicle):
        __tablename__ = "mx_cars"
        seats: Mapped[int] = mapped_column(default=4)
        __mapper_args__ = {"polymorphic_identity": "car"}

    assert calls == ["Vehicle", "Car"]
    assert [fk.target_fullname for fk in Car.__table__.c.id.foreign_keys] == ["mx_vehicles.id"]
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Car(seats=2))
        s.commit()
    assert read_rows("SELECT id, seats FROM mx_cars") == [(1, 2)]


def test_single_table_subclass_mixin_adds_to_the_base_table(metadata, engine, read_rows):
    Base = _base(metadata)

    class Stamped:
        note: Mapped[str] = mapped_column(default="n")

    class Extra:
        extra: Mapped[str | None] = mapped_column(default=None)

    class Animal(Stamped, Base):
        __tablename__ = "mx_animals"
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str]
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "animal"}

    class Dog(Extra, Animal):
        __mapper_args__ = {"polymorphic_identity": "dog"}

    assert [c.name for c in Animal.__table__.c] == ["id", "kind", "note", "extra"]
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Dog(id=1, extra="e"))
        s.commit()
    assert read_rows(Animal.__table__) == [(1, "dog", "n", "e")]


def test_declared_attr_over_classmethod(metadata):
    Base = _base(metadata)

    class Named:
        @declared_attr.directive
        @classmethod
        def __tablename__(cls) -> str:
            return "mx_" + cls.__name__.lower()

        @declared_attr
        @classmethod
        def label(cls) -> Mapped[str]:
            return mapped_column(String(20), default=cls.__name__)

    class Widget(Named, Base):
        id: Mapped[int] = mapped_column(primary_key=True)

    assert Widget.__table__.name == "mx_widget"
    assert [c.name for c in Widget.__table__.c] == ["id", "label"]


def test_declare_first_and_last_run_around_configuration(metadata):
    from datamapper import configure_mappers

    Base = _base(metadata)
    seen = []

    class Hooks:
        @classmethod
        def __declare_first__(cls) -> None:
            seen.append(("first", cls.__name__, cls.__mapper__.configured))

        @classmethod
        def __declare_last__(cls) -> None:
            seen.append(("last", cls.__name__, cls.__mapper__.configured))

    class Report(Hooks, Base):
        __tablename__ = "mx_reports"
        id: Mapped[int] = mapped_column(primary_key=True)

    configure_mappers()
    assert seen == [("first", "Report", False), ("last", "Report", True)]


def test_concrete_true_on_the_base_class_is_accepted(metadata, engine, read_rows):
    Base = _base(metadata)

    class Employee(Base):
        __tablename__ = "mx_employees"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        __mapper_args__ = {"concrete": True}

    class Manager(Employee):
        __tablename__ = "mx_managers"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        budget: Mapped[int]
        __mapper_args__ = {"concrete": True}

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Employee(id=1, name="e"), Manager(id=1, name="m", budget=5)])
        s.commit()
    assert read_rows(Employee.__table__) == [(1, "e")]
    assert read_rows(Manager.__table__) == [(1, "m", 5)]


def test_declared_attr_directives_of_a_mapped_base_run_for_each_subclass(
        metadata, engine, read_rows):
    from datamapper import class_mapper

    Base = _base(metadata)

    class Employee(Base):
        @declared_attr.directive
        def __tablename__(cls) -> str:
            return "mx_" + cls.__name__.lower()

        id: Mapped[int] = mapped_column(primary_key=True)
        type: Mapped[str]

        @declared_attr.directive
        def __mapper_args__(cls) -> dict[str, Any]:
            if cls.__name__ == "Employee":
                return {"polymorphic_on": cls.type, "polymorphic_identity": "Employee"}
            return {"polymorphic_identity": cls.__name__}

    class Engineer(Employee):  # its own table, from the base's __tablename__
        id: Mapped[int] = mapped_column(ForeignKey("mx_employee.id"), primary_key=True)
        language: Mapped[str] = mapped_column(default="py")

    assert class_mapper(Engineer).polymorphic_identity == "Engineer"
    assert Engineer.__table__.name == "mx_engineer"
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Employee(id=1), Engineer(id=2)])
        s.commit()
    assert read_rows(Employee.__table__) == [(1, "Employee"), (2, "Engineer")]
    assert read_rows(Engineer.__table__) == [(2, "py")]
    with Session(engine) as s:
        assert [type(e) for e in s.scalars(select(Employee).order_by(Employee.id))] \
            == [Employee, Engineer]


def test_cascading_key_column_handed_back_to_single_table_subclasses(
        metadata, engine, read_rows):
    # an abstract base's cascading declared_attr gives the subclasses the table's
    # existing key column (cls.__table__.c.id): they map it, they don't add it
    from sqlalchemy import Column

    Base = _base(metadata)

    class Model(Base):
        __abstract__ = True

        @declared_attr.cascading
        def id(cls) -> Any:
            existing = None if Model in cls.__bases__ else cls.__table__.c.get("id")
            return existing if existing is not None else Column(Integer, primary_key=True)

    class Person(Model):
        __tablename__ = "mx_people"
        kind: Mapped[str]
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "person"}

    class Engineer(Person):
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        # the same key declared again in a single-table subclass maps the base's
        id: Mapped[int] = mapped_column(primary_key=True, use_existing_column=True)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    assert Engineer.__table__ is Person.__table__
    assert sorted(c.name for c in Person.__table__.c) == ["id", "kind"]
    assert Engineer.id.property.columns[0] is Person.__table__.c.id
    assert Manager.id.property.columns[0] is Person.__table__.c.id
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Engineer(id=1), Manager(id=2), Person(id=3)])
        s.commit()
    assert read_rows(Person.__table__) == [("engineer", 1), ("manager", 2), ("person", 3)]
    with Session(engine) as s:
        assert [type(p).__name__ for p in s.scalars(select(Person).order_by(Person.id))] \
            == ["Engineer", "Manager", "Person"]
