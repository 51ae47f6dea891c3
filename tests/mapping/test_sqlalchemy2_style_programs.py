"""Small programs written the way SQLAlchemy 2.0's tutorial writes them, run with
only the ORM import changed to ``datamapper``: annotated models with
relationships, dataclass models, and inheritance with mixins.  Each checks the
table shapes the annotations imply and the rows the database ends up with."""

import dataclasses
import datetime
import decimal
import enum
import inspect
from typing import Annotated, Optional

from sqlalchemy import (
    Column,
    ForeignKey,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)

from datamapper import (
    DeclarativeBase,
    Mapped,
    MappedAsDataclass,
    Session,
    attribute_keyed_dict,
    declared_attr,
    mapped_column,
    relationship,
    selectin_polymorphic,
    selectinload,
    validates,
    with_polymorphic,
)


class Status(enum.Enum):
    PENDING = "pending"
    DONE = "done"


def test_tutorial_models_with_relationships(metadata, engine, read_rows):
    intpk = Annotated[int, mapped_column(primary_key=True)]
    str50 = Annotated[str, 50]

    class Base(DeclarativeBase):
        type_annotation_map = {  # noqa: RUF012
            str50: String(50), str: String(100), decimal.Decimal: Numeric(10, 2)}

    Base.registry.metadata = metadata
    Base.metadata = metadata
    user_keyword = Table(
        "t2_user_keyword", metadata,
        Column("user_id", ForeignKey("t2_users.id"), primary_key=True),
        Column("keyword_id", ForeignKey("t2_keywords.id"), primary_key=True))

    class User(Base):
        __tablename__ = "t2_users"
        __table_args__ = (UniqueConstraint("name"),)
        id: Mapped[intpk]
        name: Mapped[str50]
        fullname: Mapped[Optional[str]]  # noqa: UP045 - the tutorial's spelling
        bio: Mapped[str | None] = mapped_column(Text)
        status: Mapped[Status] = mapped_column(default=Status.PENDING)
        balance: Mapped[decimal.Decimal] = mapped_column(default=decimal.Decimal("0"))
        addresses: Mapped[list["Address"]] = relationship(
            back_populates="user", cascade="all, delete-orphan", order_by="Address.id")
        keywords: Mapped[set["Keyword"]] = relationship(
            secondary=user_keyword, back_populates="users")

    class Address(Base):
        __tablename__ = "t2_addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email_address: Mapped[str]
        user_id: Mapped[int] = mapped_column(ForeignKey("t2_users.id"))
        user: Mapped["User"] = relationship(back_populates="addresses")

    class Keyword(Base):
        __tablename__ = "t2_keywords"
        id: Mapped[int] = mapped_column(primary_key=True)
        word: Mapped[str] = mapped_column(String(30), index=True)
        users: Mapped[list[User]] = relationship(secondary=user_keyword,
                                                 back_populates="keywords")

    c = User.__table__.c
    assert (c.name.nullable, c.name.type.length) == (False, 50)
    assert c.fullname.nullable is True and c.bio.nullable is True
    assert isinstance(c.bio.type, Text) and c.balance.type.precision == 10
    assert Address.__table__.c.user_id.nullable is False
    metadata.create_all(engine)

    with Session(engine) as s:
        sandy = User(name="sandy", fullname="Sandy Cheeks", addresses=[
            Address(email_address="sandy@sqlalchemy.org"),
            Address(email_address="sandy@squirrelpower.org")])
        patrick = User(name="patrick", fullname="Patrick Star")
        fish = Keyword(word="fish")
        sandy.keywords.add(fish)
        s.add_all([sandy, patrick])
        s.commit()
        assert sandy.status is Status.PENDING and fish.users == [sandy]
        patrick.addresses.append(Address(email_address="patrick@sqlalchemy.org"))
        sandy.addresses.remove(sandy.addresses[0])  # delete-orphan
        s.commit()
        s.delete(patrick)
        s.commit()
    assert [r[1] for r in read_rows(Address.__table__)] == ["sandy@squirrelpower.org"]
    assert read_rows(user_keyword) == [(1, 1)]
    with Session(engine) as s:
        users = s.scalars(select(User).options(selectinload(User.addresses))).all()
        assert [(u.name, [a.email_address for a in u.addresses]) for u in users] == [
            ("sandy", ["sandy@squirrelpower.org"])]
        assert s.execute(select(User.name, Address.email_address).join(User.addresses)).all() \
            == [("sandy", "sandy@squirrelpower.org")]
        assert s.get(User, 1).balance == decimal.Decimal("0")


def test_dataclass_models_constructors_defaults_and_rows(metadata, engine, read_rows):
    class Base(MappedAsDataclass, DeclarativeBase):
        type_annotation_map = {str: String(50)}  # noqa: RUF012

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Timestamped(MappedAsDataclass):
        created_at: Mapped[datetime.datetime] = mapped_column(
            init=False, insert_default=func.current_timestamp())

    class User(Timestamped, Base):
        __tablename__ = "t2d_users"
        id: Mapped[int] = mapped_column(init=False, primary_key=True)
        name: Mapped[str]
        fullname: Mapped[Optional[str]] = mapped_column(default=None)  # noqa: UP045
        addresses: Mapped[list["Address"]] = relationship(
            back_populates="user", default_factory=list)
        notes: Mapped[dict[str, "Note"]] = relationship(
            collection_class=attribute_keyed_dict("key"), default_factory=dict, repr=False)

    class Address(Base):
        __tablename__ = "t2d_addresses"
        id: Mapped[int] = mapped_column(init=False, primary_key=True)
        email_address: Mapped[str]
        user_id: Mapped[Optional[int]] = mapped_column(  # noqa: UP045
            ForeignKey("t2d_users.id"), init=False)
        user: Mapped[Optional[User]] = relationship(  # noqa: UP045
            back_populates="addresses", default=None)

    class Note(Base):
        __tablename__ = "t2d_notes"
        id: Mapped[int] = mapped_column(init=False, primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("t2d_users.id"), init=False)
        key: Mapped[str]
        body: Mapped[str] = mapped_column(default="")

    assert [f.name for f in dataclasses.fields(User)] == [
        "created_at", "id", "name", "fullname", "addresses", "notes"]
    assert list(inspect.signature(User.__init__).parameters) == [
        "self", "name", "fullname", "addresses", "notes"]
    assert list(inspect.signature(Address.__init__).parameters) == [
        "self", "email_address", "user"]
    u = User("spongebob", addresses=[Address("a@b.c")])
    assert u.fullname is None and u.addresses[0].user is u
    assert repr(u).startswith("test_dataclass_models_constructors_defaults_and_rows.<locals>.User("
                              "created_at=None, id=None, name='spongebob', fullname=None")
    assert User("x") == User("x")
    Address("x@y", user=u)
    u.notes["n1"] = Note("n1", "hello")
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(u)
        s.commit()
        assert u.id == 1 and u.created_at is not None
    assert [r[1:] for r in read_rows(Address.__table__)] == [("a@b.c", 1), ("x@y", 1)]
    assert [r[2:] for r in read_rows(Note.__table__)] == [("n1", "hello")]
    with Session(engine) as s:
        loaded = s.scalars(select(User)).one()
        assert [a.email_address for a in loaded.addresses] == ["a@b.c", "x@y"]
        assert loaded.notes["n1"].body == "hello"


def test_inheritance_with_mixins_joined_and_single_table(metadata, engine, read_rows):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}  # noqa: RUF012

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class TableNameMixin:
        @declared_attr.directive
        def __tablename__(cls) -> str:
            return "t2i_" + cls.__name__.lower()

    class HasCompany:
        company_id: Mapped[Optional[int]] = mapped_column(  # noqa: UP045
            ForeignKey("t2i_company.id"))

        @declared_attr
        def company(cls) -> Mapped[Optional["Company"]]:  # noqa: UP045
            return relationship("Company")

    class Company(TableNameMixin, Base):
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        employees: Mapped[list["Employee"]] = relationship(
            back_populates="company", order_by="Employee.id")

    class Employee(TableNameMixin, Base):
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        type: Mapped[str]
        company_id: Mapped[Optional[int]] = mapped_column(  # noqa: UP045
            ForeignKey("t2i_company.id"))
        company: Mapped[Optional[Company]] = relationship(  # noqa: UP045
            back_populates="employees")
        __mapper_args__ = {  # noqa: RUF012
            "polymorphic_identity": "employee", "polymorphic_on": "type"}

        @validates("name")
        def _strip(self, key, value):
            return value.strip()

    class Manager(Employee):
        id: Mapped[int] = mapped_column(ForeignKey("t2i_employee.id"), primary_key=True)
        manager_name: Mapped[Optional[str]]  # noqa: UP045
        __mapper_args__ = {"polymorphic_identity": "manager"}  # noqa: RUF012

    class Engineer(Employee):
        id: Mapped[int] = mapped_column(ForeignKey("t2i_employee.id"), primary_key=True)
        engineer_info: Mapped[Optional[str]]  # noqa: UP045
        __mapper_args__ = {"polymorphic_identity": "engineer"}  # noqa: RUF012

    class Tag(Base):
        __tablename__ = "t2i_tag"
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str] = mapped_column(String(20))
        label: Mapped[str]
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "tag"}  # noqa: RUF012

    class ColorTag(Tag):
        color: Mapped[Optional[str]]  # noqa: UP045
        __mapper_args__ = {"polymorphic_identity": "color"}  # noqa: RUF012

    class Widget(HasCompany, Base):
        __tablename__ = "t2i_widget"
        id: Mapped[int] = mapped_column(primary_key=True)

    class Gadget(HasCompany, Base):
        __tablename__ = "t2i_gadget"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert ColorTag.__table__ is Tag.__table__ and "color" in Tag.__table__.c
    assert Manager.__table__.name == "t2i_manager"
    assert Widget.__table__.c.company_id is not Gadget.__table__.c.company_id
    metadata.create_all(engine)
    with Session(engine) as s:
        krusty = Company(id=1, name="Krusty Krab", employees=[
            Manager(id=1, name=" Mr. Krabs ", manager_name="Eugene"),
            Engineer(id=2, name="SpongeBob", engineer_info="cook"),
            Employee(id=3, name="Squidward")])
        s.add_all([krusty, ColorTag(id=1, label="red", color="red"), Tag(id=2, label="plain"),
                   Widget(id=1, company=krusty), Gadget(id=1, company=krusty)])
        s.commit()
    assert read_rows(Employee.__table__) == [
        (1, "Mr. Krabs", "manager", 1), (2, "SpongeBob", "engineer", 1),
        (3, "Squidward", "employee", 1)]
    assert read_rows(Tag.__table__) == [(1, "color", "red", "red"), (2, "tag", "plain", None)]
    with Session(engine) as s:
        emps = s.scalars(select(Employee).order_by(Employee.id)).all()
        assert [type(e).__name__ for e in emps] == ["Manager", "Engineer", "Employee"]
        assert emps[0].manager_name == "Eugene"
        poly = with_polymorphic(Employee, [Engineer, Manager])
        assert [e.name for e in s.scalars(
            select(poly).where(poly.Engineer.engineer_info == "cook"))] == ["SpongeBob"]
        assert len(s.scalars(select(Employee).options(
            selectin_polymorphic(Employee, [Manager, Engineer]))).all()) == 3
        company = s.scalars(select(Company)).one()
        assert [e.name for e in company.employees] == ["Mr. Krabs", "SpongeBob", "Squidward"]
        assert s.scalars(select(Widget)).one().company is company
        assert [t.label for t in s.scalars(select(ColorTag))] == ["red"]
        assert s.scalars(select(Manager).join(Manager.company).where(
            Company.name == "Krusty Krab")).one() is emps[0]
