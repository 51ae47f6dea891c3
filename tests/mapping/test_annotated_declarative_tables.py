"""Annotated declarative classes and their tables: a class that gives its own
``__table__`` (the annotations only type its attributes) and the SQL types the
columns get (from the annotation, or from the column a foreign key references).

Annotations are evaluated here (no ``from __future__ import annotations``); the
string form is covered by ``test_annotated_declarative.py``.
"""

import datetime
from typing import Annotated, Optional

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table
from sqlalchemy.exc import ArgumentError

from datamapper import DeclarativeBase, Mapped, Session, mapped_column


@pytest.fixture
def Base(metadata):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}  # noqa: RUF012 - (MySQL needs a length)

    Base.registry.metadata = metadata
    Base.metadata = metadata
    return Base


def _users_table(metadata):
    return Table(
        "users", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False),
        Column("data", String(50)),
        Column("created_at", DateTime),
    )


def test_annotations_on_a_class_with_its_own_table_map_that_tables_columns(
        Base, metadata, engine, read_rows, sql_log):
    users = _users_table(metadata)

    class User(Base):
        __table__ = users
        id: Mapped[int]
        name: Mapped[str]
        data: Mapped[Optional[str]]  # noqa: UP045 - the Optional spelling users write
        created_at: Mapped[datetime.datetime]

    for key in ("id", "name", "data", "created_at"):
        assert User.__mapper__.columns[key] is users.c[key], key
    metadata.create_all(engine)
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    with Session(engine) as s:
        s.add(User(id=1, name="ed", data="x", created_at=when))
        s.commit()
    assert read_rows(users) == [(1, "ed", "x", when)]
    sql_log.clear()
    with Session(engine) as s:
        got = s.scalars(sa.select(User)).one()
        assert (got.name, got.data, got.created_at) == ("ed", "x", when)
    assert "users.name" in sql_log.statements[0]


def test_mixin_annotations_on_a_class_with_its_own_table_map_that_tables_columns(
        Base, metadata, engine, read_rows):
    class HasName:
        name: Mapped[str]

    users = _users_table(metadata)

    class User(HasName, Base):
        __table__ = users
        id: Mapped[int]

    assert User.__mapper__.columns["name"] is users.c.name
    assert list(users.c.keys()) == ["id", "name", "data", "created_at"]
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(User(id=1, name="ed", data="d"))
        s.commit()
    assert read_rows(users) == [(1, "ed", "d", None)]


def test_mapped_column_not_in_the_given_table_is_refused(Base, metadata):
    users = _users_table(metadata)
    with pytest.raises(ArgumentError, match="extra.*__table__"):
        class User(Base):
            __table__ = users
            id: Mapped[int]
            extra: Mapped[int] = mapped_column()


def test_foreign_key_column_takes_the_referenced_type_over_its_annotation(Base):
    class Element(Base):
        __tablename__ = "element"
        id: Mapped[int] = mapped_column(sa.BIGINT, primary_key=True)

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(sa.BIGINT, primary_key=True)
        other_id: Mapped[int] = mapped_column(ForeignKey("element.id"))
        data: Mapped[int] = mapped_column()

    assert type(User.__table__.c.other_id.type) is sa.BIGINT
    assert type(User.__table__.c.data.type) is sa.Integer
    assert User.__table__.c.other_id.nullable is False


@pytest.mark.parametrize("deferred", [False, True])
def test_mapped_column_key_names_the_table_column_key_not_the_attribute(
        Base, metadata, engine, read_rows, deferred):
    class A(Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)
        data: Mapped[str] = mapped_column(key="data_", deferred=deferred)

    assert list(A.__table__.c.keys()) == ["id", "data_"]
    assert A.__table__.c.data_.name == "data"
    assert not hasattr(A, "data_")
    assert A.data.property.expression is A.__table__.c.data_
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(A(id=1, data="x"))
        s.commit()
    assert read_rows("SELECT id, data FROM a") == [(1, "x")]
    with Session(engine) as s:
        assert s.scalars(sa.select(A).where(A.data == "x")).one().data == "x"


@pytest.mark.parametrize("via_annotated", [False, True])
def test_identity_column_stays_not_null_under_an_optional_annotation(Base, via_annotated):
    if via_annotated:
        counter = Annotated[int, mapped_column(sa.Identity())]

        class A(Base):
            __tablename__ = "a"
            id: Mapped[int] = mapped_column(primary_key=True)
            seq: Mapped[Optional[counter]]  # noqa: UP045
            loose: Mapped[Optional[counter]] = mapped_column(nullable=True)  # noqa: UP045
    else:
        class A(Base):
            __tablename__ = "a"
            id: Mapped[int] = mapped_column(primary_key=True)
            seq: Mapped[Optional[int]] = mapped_column(sa.Identity())  # noqa: UP045
            loose: Mapped[Optional[int]] = mapped_column(sa.Identity(), nullable=True)  # noqa: UP045

    assert A.__table__.c.seq.nullable is False
    assert A.__table__.c.loose.nullable is True


def test_parametrized_generic_mapped_class_inspects_to_its_mapper(Base, metadata, engine):
    from typing import Any, Generic, TypeVar

    from datamapper import MappedAsDataclass

    T = TypeVar("T")

    class Setting(MappedAsDataclass, Base, Generic[T]):
        __tablename__ = "settings"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        key: Mapped[str]
        value: Mapped[T] = mapped_column(sa.JSON, default_factory=dict)

    alias = Setting[dict[str, Any]]
    assert sa.inspect(alias) is Setting.__mapper__
    assert sa.inspect(Optional[int], raiseerr=False) is None  # noqa: UP045 - other aliases
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(alias(key="k", value={"a": 1}))
        s.commit()
        assert s.scalars(sa.select(Setting).where(alias.key == "k")).one().value == {"a": 1}
        # the parametrized alias and the Mapper select the class, as the class does
        assert s.scalars(sa.select(alias).where(alias.key == "k")).one().value == {"a": 1}
        assert [o.key for o in s.scalars(sa.select(sa.inspect(Setting)))] == ["k"]


# -- Unmapped[...] / unmapped_column(): columns of the table the class does not map ------
def test_unmapped_columns_are_in_the_table_and_get_their_defaults_but_not_mapped(
        Base, metadata, engine, read_rows, sql_log):
    from datamapper import Unmapped, unmapped_column

    class A(Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)
        data: Mapped[str]
        legacy: Unmapped[Optional[str]] = unmapped_column(default="xd")  # noqa: UP045
        flag: Unmapped[int] = unmapped_column(server_default="5")
        renamed: Unmapped[Optional[str]] = unmapped_column("other", String(30))  # noqa: UP045
        bare: Unmapped[Optional[int]]  # noqa: UP045
        last: Unmapped[Optional[int]] = unmapped_column(sort_order=10)  # noqa: UP045
        after: Mapped[Optional[str]]  # noqa: UP045

    c = A.__table__.c
    assert list(c.keys()) == ["id", "data", "legacy", "flag", "other", "bare", "after", "last"]
    assert c.flag.nullable is False and c.legacy.nullable is True
    assert type(c.other.type) is String and c.other.type.length == 30
    assert sa.inspect(A).attrs.keys() == ["id", "data", "after"]
    assert not any(hasattr(A, k) for k in ("legacy", "flag", "renamed", "bare", "last"))
    metadata.create_all(engine)
    with Session(engine) as s:
        a = A(id=1, data="d")
        assert not {"legacy", "flag", "renamed", "bare"} & set(vars(a))
        s.add(a)
        s.commit()
    assert read_rows("SELECT id, data, legacy, flag, other, bare FROM a") == [
        (1, "d", "xd", 5, None, None)]
    sql_log.clear()
    with Session(engine) as s:
        assert s.get(A, 1).data == "d"
    assert "legacy" not in sql_log.statements[0]


def test_unmapped_columns_in_inheritance_mixins_dataclasses_and_added_later(Base, metadata):
    import dataclasses
    import inspect as py_inspect

    from datamapper import MappedAsDataclass, Unmapped, unmapped_column

    class Audit:
        created_by: Unmapped[Optional[str]] = unmapped_column()  # noqa: UP045

    class Person(Audit, Base):
        __tablename__ = "person"
        id: Mapped[int] = mapped_column(primary_key=True)
        type: Mapped[str]
        __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "p"}  # noqa: RUF012

    class Single(Person):
        note: Unmapped[Optional[str]] = unmapped_column()  # noqa: UP045
        extra: Mapped[Optional[str]]  # noqa: UP045
        __mapper_args__ = {"polymorphic_identity": "s"}  # noqa: RUF012

    class Joined(Person):
        __tablename__ = "joined"
        id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
        code: Unmapped[Optional[str]] = unmapped_column()  # noqa: UP045
        __mapper_args__ = {"polymorphic_identity": "j"}  # noqa: RUF012

    assert list(Person.__table__.c.keys()) == ["id", "type", "created_by", "note", "extra"]
    assert list(Joined.__table__.c.keys()) == ["id", "code"]
    assert sa.inspect(Person).attrs.keys() == ["id", "type"]
    assert sorted(sa.inspect(Single).attrs.keys()) == ["extra", "id", "type"]
    assert sorted(sa.inspect(Joined).attrs.keys()) == ["id", "type"]

    Person.later = unmapped_column(String(20))
    assert "later" in Person.__table__.c and not hasattr(Person, "later")

    class DcBase(MappedAsDataclass, DeclarativeBase):
        pass

    try:
        class Dc(DcBase):
            __tablename__ = "dc"
            id: Mapped[int] = mapped_column(primary_key=True, init=False)
            data: Mapped[str]
            hidden: Unmapped[Optional[str]] = unmapped_column(default="h")  # noqa: UP045

        assert [f.name for f in dataclasses.fields(Dc)] == ["id", "data"]
        assert list(py_inspect.signature(Dc.__init__).parameters) == ["self", "data"]
        assert "hidden" in Dc.__table__.c
    finally:
        DcBase.registry.dispose()


def test_unmapped_misuse_is_refused_naming_the_attribute(Base):
    from datamapper import Unmapped, unmapped_column
    from datamapper.exc import MappedAnnotationError

    with pytest.raises(MappedAnnotationError, match=r"A1\.x.*Unmapped\[") :
        class A1(Base):
            __tablename__ = "a1"
            id: Mapped[int] = mapped_column(primary_key=True)
            x: Mapped[int] = unmapped_column()
    with pytest.raises(MappedAnnotationError, match=r"A2\.x.*unmapped_column\(\)"):
        class A2(Base):
            __tablename__ = "a2"
            id: Mapped[int] = mapped_column(primary_key=True)
            x: Unmapped[int] = mapped_column()
    with pytest.raises(ArgumentError, match=r"A3\.x.*'deferred', 'active_history'"):
        class A3(Base):
            __tablename__ = "a3"
            id: Mapped[int] = mapped_column(primary_key=True)
            x: Unmapped[int] = unmapped_column(deferred=True, active_history=True)


def test_attribute_mapped_column_options_win_over_an_annotated_template(
        Base, metadata, engine, read_rows):
    # a reusable Annotated[int, mapped_column()] type with the attribute's own
    # mapped_column(...) options: those options must all reach the Column
    plain_int = Annotated[int, mapped_column()]

    class Item(Base):
        __tablename__ = "items"
        code: Mapped[plain_int] = mapped_column(primary_key=True, autoincrement=False)
        rank: Mapped[plain_int] = mapped_column(info={"ui": "rank"}, system=False)
        tag: Mapped[Optional[plain_int]] = mapped_column(info={"a": 1})  # noqa: UP045

    c = Item.__table__.c
    assert c.code.primary_key is True
    assert c.code.nullable is False  # a key column is NOT NULL, as without the template
    assert c.code.autoincrement is False
    assert c.rank.info == {"ui": "rank"}
    assert c.tag.info == {"a": 1} and c.tag.nullable is True
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Item(code=7, rank=1, tag=None))
        s.commit()
    assert read_rows(Item.__table__) == [(7, 1, None)]
    ddl = str(sa.schema.CreateTable(Item.__table__).compile(engine))
    assert "code INTEGER NOT NULL" in ddl, ddl


def test_attribute_default_none_clears_an_annotated_templates_insert_default(
        Base, metadata, engine, read_rows):
    from datamapper import MappedAsDataclass

    str30 = Annotated[str, mapped_column(String(30), insert_default=sa.func.lower("X"))]

    class Row(MappedAsDataclass, Base):
        __tablename__ = "rows"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        plain: Mapped[str30] = mapped_column(init=False)
        cleared: Mapped[Optional[str30]] = mapped_column(  # noqa: UP045
            insert_default=None, init=False)
        own: Mapped[str30] = mapped_column(default="hi")

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Row())
        s.commit()
    # the template's default where the attribute gives none; NULL where it says None
    assert read_rows(Row.__table__) == [(1, "x", None, "hi")]


def test_mapped_column_refuses_both_default_and_insert_default():
    with pytest.raises(ArgumentError, match="both default= and insert_default="):
        mapped_column(default="x", insert_default="y")


def test_declared_attr_in_the_class_body_takes_no_nullability_from_its_return_annotation(
        Base, engine, make_session):
    """SQLAlchemy's inheritance/single.py: single-table subclasses declare a shared
    column with a declared_attr annotated -> Mapped[str]; the base's own rows (and the
    other subclasses') leave it NULL, so it must stay nullable; a mixin's declared_attr
    still types and constrains the column by its return annotation."""
    from datamapper import declared_attr

    class Mixin:
        @declared_attr
        def code(cls) -> Mapped[str]:
            return mapped_column(String(10))

    class Person(Mixin, Base):
        __tablename__ = "dan_person"
        id: Mapped[int] = mapped_column(primary_key=True)
        type: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "person"}

    class Engineer(Person):
        @declared_attr
        def status(cls) -> Mapped[str]:
            return Person.__table__.c.get("status", mapped_column(String(30)))

        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        @declared_attr
        def status(cls) -> Mapped[str]:
            return Person.__table__.c.get("status", mapped_column(String(30)))

        __mapper_args__ = {"polymorphic_identity": "manager"}

    t = Person.__table__
    assert t.c.status.nullable is True and str(t.c.status.type) == "VARCHAR(30)"
    assert t.c.code.nullable is False  # the mixin's: from its return annotation
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Person(code="p"), Engineer(code="e", status="on"), Manager(code="m",
                                                                        status="off")])
    s.commit()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.type, t.c.status).order_by(t.c.id)).all()
    assert [tuple(r) for r in rows] == [("person", None), ("engineer", "on"),
                                        ("manager", "off")]
