"""Annotated declarative mapping (the 2.x style): ``DeclarativeBase``, ``Mapped[...]``,
``mapped_column()``, relationships shaped by their annotation, mixins, dataclasses.

This module uses ``from __future__ import annotations`` on purpose: every annotation
is a string here, as in most modern code, and forward references (``list[Address]``
before ``Address`` exists) must work.  The companion module
``test_annotated_declarative_eager.py`` checks the same with evaluated annotations.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from typing import Annotated, Literal, Optional

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, MetaData, String, func
from sqlalchemy.exc import ArgumentError

from datamapper import (
    DeclarativeBase,
    DeclarativeBaseNoMeta,
    DynamicMapped,
    Mapped,
    MappedAsDataclass,
    Session,
    column_property,
    configure_mappers,
    declared_attr,
    mapped_column,
    registry,
    relationship,
    synonym,
)

intpk = Annotated[int, mapped_column(primary_key=True)]
str30 = Annotated[str, 30]


class Color(enum.Enum):
    red = "red"
    green = "green"


@pytest.fixture
def Base(metadata):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata  # the test's MetaData, dropped by the engine fixture
    Base.metadata = metadata
    return Base


def make_base(metadata, **type_map):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50), **type_map}

    Base.registry.metadata = metadata
    Base.metadata = metadata
    return Base


# -- columns from annotations ------------------------------------------------------
def test_quickstart_models_round_trip_on_every_backend(metadata, engine, read_rows):
    Base = make_base(metadata)

    class User(Base):
        __tablename__ = "user_account"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        fullname: Mapped[str | None]
        addresses: Mapped[list[Address]] = relationship(
            back_populates="user", cascade="all, delete-orphan")

    class Address(Base):
        __tablename__ = "address"
        id: Mapped[int] = mapped_column(primary_key=True)
        email_address: Mapped[str]
        user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
        user: Mapped[User] = relationship(back_populates="addresses")

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([
            User(name="spongebob", fullname="Spongebob Squarepants",
                 addresses=[Address(email_address="spongebob@example.org")]),
            User(name="patrick"),
        ])
        s.commit()
        sandy = User(name="sandy", addresses=[Address(email_address="a@b"),
                                              Address(email_address="c@d")])
        s.add(sandy)
        s.commit()
        assert [a.user is sandy for a in sandy.addresses] == [True, True]
    assert read_rows(User.__table__) == [
        (1, "spongebob", "Spongebob Squarepants"), (2, "patrick", None), (3, "sandy", None)]
    assert read_rows(Address.__table__) == [
        (1, "spongebob@example.org", 1), (2, "a@b", 3), (3, "c@d", 3)]
    with Session(engine) as s:
        user = s.get(User, 3)
        assert [a.email_address for a in user.addresses] == ["a@b", "c@d"]


def test_annotation_decides_type_and_nullability(Base):
    class Thing(Base):
        __tablename__ = "things"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        note: Mapped[Optional[str]]  # noqa: UP045 - the Optional spelling is what is tested
        other: Mapped[str | None]
        flag: Mapped[bool]
        ratio: Mapped[float]
        when: Mapped[datetime.datetime]
        day: Mapped[datetime.date]
        at: Mapped[datetime.time]
        span: Mapped[datetime.timedelta]
        amount: Mapped[decimal.Decimal]
        token: Mapped[uuid.UUID]
        blob: Mapped[bytes]
        forced: Mapped[int | None] = mapped_column(nullable=False)
        loose: Mapped[int] = mapped_column(nullable=True)

    c = Thing.__table__.c
    expected = {
        "id": (sa.Integer, False), "name": (sa.String, False), "note": (sa.String, True),
        "other": (sa.String, True), "flag": (sa.Boolean, False), "ratio": (sa.Float, False),
        "when": (sa.DateTime, False), "day": (sa.Date, False), "at": (sa.Time, False),
        "span": (sa.Interval, False), "amount": (sa.Numeric, False),
        "token": (sa.Uuid, False), "blob": (sa.LargeBinary, False),
        "forced": (sa.Integer, False), "loose": (sa.Integer, True),
    }
    for name, (type_cls, nullable) in expected.items():
        assert isinstance(c[name].type, type_cls), name
        assert c[name].nullable is nullable, name
    assert list(c.keys()) == list(expected)
    assert c.id.primary_key


def test_enums_and_literals_become_enum_types(metadata, engine, read_rows):
    Base = make_base(metadata)

    class Paint(Base):
        __tablename__ = "paints"
        id: Mapped[int] = mapped_column(primary_key=True)
        color: Mapped[Color]
        finish: Mapped[Literal["matte", "gloss"]]

    color_type = Paint.__table__.c.color.type
    finish_type = Paint.__table__.c.finish.type
    assert isinstance(color_type, sa.Enum) and color_type.enum_class is Color
    assert isinstance(finish_type, sa.Enum) and finish_type.enums == ["matte", "gloss"]
    assert finish_type.native_enum is False
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Paint(color=Color.green, finish="gloss"))
        s.commit()
    with Session(engine) as s:
        p = s.get(Paint, 1)
        assert (p.color, p.finish) == (Color.green, "gloss")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # the native ENUM type is dropped with the table
            Paint.__table__.drop(conn)
            sa.Enum(Color).drop(conn, checkfirst=True)


def test_type_annotation_map_and_annotated_aliases(Base):
    class Base2(DeclarativeBase):
        type_annotation_map = {str: String(40), str30: String(30), int: sa.BigInteger}

    class Row(Base2):
        __tablename__ = "rows"
        id: Mapped[intpk]
        short: Mapped[str30]
        long: Mapped[str]
        big: Mapped[int]
        explicit: Mapped[str] = mapped_column(sa.Text)

    c = Row.__table__.c
    assert c.id.primary_key and isinstance(c.id.type, sa.BigInteger)
    assert c.short.type.length == 30
    assert c.long.type.length == 40
    assert isinstance(c.big.type, sa.BigInteger)
    assert isinstance(c.explicit.type, sa.Text)


def test_type_map_union_keys_match_in_any_order_and_with_or_without_none():
    class Base2(DeclarativeBase):
        type_annotation_map = {float | decimal.Decimal | None: sa.Numeric(10, 3)}

    class Reading(Base2):
        __tablename__ = "readings"
        id: Mapped[int] = mapped_column(primary_key=True)
        a: Mapped[float | decimal.Decimal]
        b: Mapped[Optional[decimal.Decimal | float]]  # noqa: UP045
        c: Mapped["decimal.Decimal | float | None"]  # noqa: UP037, UP045
        plain: Mapped[float]

    try:
        c = Reading.__table__.c
        for col in (c.a, c.b, c.c):
            assert isinstance(col.type, sa.Numeric) and col.type.scale == 3, col
        assert (c.a.nullable, c.b.nullable, c.c.nullable) == (False, True, True)
        assert not isinstance(c.plain.type, sa.Numeric) or c.plain.type.scale != 3
    finally:
        Base2.registry.dispose()


indexed = Annotated[int, mapped_column(index=True, unique=True)]


def test_attribute_index_and_unique_false_override_the_annotated_template():
    class Base2(DeclarativeBase):
        pass

    class Row(Base2):
        __tablename__ = "idx_rows"
        id: Mapped[int] = mapped_column(primary_key=True)
        kept: Mapped[indexed]
        overridden: Mapped[indexed] = mapped_column(index=False, unique=False)

    try:
        c = Row.__table__.c
        assert (c.kept.index, c.kept.unique) == (True, True)
        assert (c.overridden.index, c.overridden.unique) == (False, False)
    finally:
        Base2.registry.dispose()


class Size(enum.Enum):
    small = "s"
    large = "l"


def test_enum_types_in_the_map_keep_their_name_values_and_length():
    class Base2(DeclarativeBase):
        type_annotation_map = {Size: sa.Enum("small", "large", name="size_kind", length=20),
                               enum.Enum: sa.Enum(enum.Enum, length=42, native_enum=False)}

    class Shirt(Base2):
        __tablename__ = "shirts"
        id: Mapped[int] = mapped_column(primary_key=True)
        size: Mapped[Size]
        color: Mapped[Color]

    try:
        size, color = Shirt.__table__.c.size.type, Shirt.__table__.c.color.type
        assert (size.name, size.length, size.enums) == ("size_kind", 20, ["small", "large"])
        assert (color.enum_class, color.length, color.native_enum) == (Color, 42, False)
    finally:
        Base2.registry.dispose()


def test_foreign_key_column_without_annotation_takes_the_referenced_type(Base):
    class Parent(Base):
        __tablename__ = "parents"
        id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)

    class Child(Base):
        __tablename__ = "children"
        id: Mapped[int] = mapped_column(primary_key=True)
        parent_id = mapped_column(ForeignKey("parents.id"))

    assert isinstance(Child.__table__.c.parent_id.type, sa.BigInteger)


def test_mapped_column_takes_column_arguments(Base):
    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column("item_id", primary_key=True)
        code: Mapped[str] = mapped_column(String(10), unique=True, index=True,
                                          server_default="x", comment="the code")
        made: Mapped[int] = mapped_column(insert_default=7)
        label: Mapped[str] = mapped_column(name="label_text", default="none")

    c = Item.__table__.c
    assert c.item_id.key == "item_id" and Item.id.property.columns[0] is c.item_id
    assert c.code.unique and c.code.index and c.code.comment == "the code"
    assert c.code.server_default.arg == "x"
    assert c.made.default.arg == 7
    assert "label_text" in c and c.label_text.default.arg == "none"


# -- relationships from annotations ---------------------------------------------------
def test_relationship_target_and_collection_come_from_the_annotation(Base):
    class Parent(Base):
        __tablename__ = "parents"
        id: Mapped[int] = mapped_column(primary_key=True)
        kids: Mapped[list[Kid]] = relationship(back_populates="parent")
        tags: Mapped[set[Tag]] = relationship()
        favourite: Mapped[Kid | None] = relationship(viewonly=True)

    class Kid(Base):
        __tablename__ = "kids"
        id: Mapped[int] = mapped_column(primary_key=True)
        parent_id: Mapped[int | None] = mapped_column(ForeignKey("parents.id"))
        parent: Mapped[Parent | None] = relationship(back_populates="kids")

    class Tag(Base):
        __tablename__ = "tags"
        id: Mapped[int] = mapped_column(primary_key=True)
        parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"))

    sa.inspect  # noqa: B018
    Parent().kids  # configures  # noqa: B018
    assert Parent.kids.property.uselist and Parent.kids.property.collection_class is list
    assert Parent.tags.property.collection_class is set
    assert isinstance(Parent().tags, set)
    assert Parent.favourite.property.uselist is False
    assert Kid.parent.property.uselist is False
    assert Kid.parent.property.mapper.class_ is Parent


def test_one_to_one_from_a_scalar_annotation(metadata, engine, read_rows):
    Base = make_base(metadata)

    class Person(Base):
        __tablename__ = "people"
        id: Mapped[int] = mapped_column(primary_key=True)
        passport: Mapped[Passport | None] = relationship(back_populates="person")

    class Passport(Base):
        __tablename__ = "passports"
        id: Mapped[int] = mapped_column(primary_key=True)
        person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
        person: Mapped[Person] = relationship(back_populates="passport")

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        p = Person(passport=Passport())
        s.add(p)
        s.commit()
        assert Person.passport.property.uselist is False
        assert p.passport.person is p
    assert read_rows(Passport.__table__) == [(1, 1)]


def test_dynamic_mapped_makes_a_dynamic_relationship(metadata, engine):
    Base = make_base(metadata)

    class Blog(Base):
        __tablename__ = "blogs"
        id: Mapped[int] = mapped_column(primary_key=True)
        posts: DynamicMapped[Post] = relationship()

    class Post(Base):
        __tablename__ = "posts"
        id: Mapped[int] = mapped_column(primary_key=True)
        blog_id: Mapped[int] = mapped_column(ForeignKey("blogs.id"))
        title: Mapped[str]

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        b = Blog()
        s.add(b)
        b.posts.append(Post(title="one"))
        s.commit()
        assert Blog.posts.property.lazy == "dynamic"
        assert [p.title for p in b.posts.filter(Post.title == "one")] == ["one"]


# -- mixins, declared_attr, ordering -----------------------------------------------------
def test_mixins_declared_attr_and_column_order(metadata, engine, read_rows):
    Base = make_base(metadata)

    class HasId:
        id: Mapped[int] = mapped_column(primary_key=True)

    class Audited:
        created: Mapped[str | None] = mapped_column(default="system")

        @declared_attr.directive
        def __tablename__(cls) -> str:
            return cls.__name__.lower()

        @declared_attr
        def owner_id(cls) -> Mapped[int | None]:
            return mapped_column(ForeignKey("owner.id"))

        @declared_attr
        def owner(cls) -> Mapped[Owner | None]:
            return relationship()

    class Owner(HasId, Base):
        __tablename__ = "owner"
        name: Mapped[str]

    class Doc(HasId, Audited, Base):
        title: Mapped[str]
        rank: Mapped[int] = mapped_column(sort_order=-1)

    class Note(HasId, Audited, Base):
        body: Mapped[str]

    assert Doc.__tablename__ == "doc" and Note.__table__.name == "note"
    # the class's own columns first, then the mixins' (sort_order moves one forward)
    assert list(Doc.__table__.c.keys()) == ["rank", "title", "id", "created", "owner_id"]
    assert Doc.__table__.c.id is not Note.__table__.c.id
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        o = Owner(name="o")
        s.add_all([Doc(title="t", rank=1, owner=o), Note(body="b", owner=o)])
        s.commit()
    assert read_rows(Doc.__table__) == [(1, "t", 1, "system", 1)]
    assert read_rows(Note.__table__) == [("b", 1, "system", 1)]


def test_abstract_classes_table_args_and_mapper_args(Base):
    class Versioned(Base):
        __abstract__ = True
        version: Mapped[int] = mapped_column(nullable=False)

        @declared_attr.directive
        def __mapper_args__(cls):
            return {"version_id_col": cls.__table__.c.version}

    class Doc(Versioned):
        __tablename__ = "docs"
        __table_args__ = (sa.UniqueConstraint("title"), {"comment": "documents"})
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str] = mapped_column(String(20))

    assert Doc.__table__.comment == "documents"
    assert any(isinstance(c, sa.UniqueConstraint) for c in Doc.__table__.constraints)
    assert Doc.__mapper__.version_id_col is Doc.__table__.c.version


def test_column_property_deferred_and_synonym_in_the_annotated_style(metadata, engine):
    Base = make_base(metadata)

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        first: Mapped[str] = mapped_column(String(20))
        last: Mapped[str] = mapped_column(String(20))
        full: Mapped[str] = column_property(func.lower(first) + "-" + func.lower(last))
        bio: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
        given: Mapped[str] = synonym("first")

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(User(first="Ada", last="King", bio="x"))
        s.commit()
    with Session(engine) as s:
        u = s.get(User, 1)
        assert "bio" not in u.__dict__ or u.__dict__.get("bio") is None
        assert u.full == "ada-king" and u.given == "Ada"
        assert u.bio == "x"
        assert User.bio.property.deferred


def test_declarative_base_takes_metadata_and_registry_attributes():
    md = MetaData()

    class Base(DeclarativeBase):
        metadata = md

    class Base2(DeclarativeBaseNoMeta):
        registry = registry()

    class A(Base):
        __tablename__ = "a"
        id: Mapped[int] = mapped_column(primary_key=True)

    class B(Base2):
        __tablename__ = "b"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert A.__table__.metadata is md and Base.registry.metadata is md
    assert B.__table__.metadata is Base2.registry.metadata
    assert A.__mapper__ in Base.registry.mappers


# -- dataclasses ------------------------------------------------------------------------
def test_mapped_as_dataclass_builds_init_repr_eq_and_persists(metadata, engine, read_rows):
    class Base(MappedAsDataclass, DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(init=False, primary_key=True)
        name: Mapped[str]
        nick: Mapped[str | None] = mapped_column(default=None)
        secret: Mapped[str] = mapped_column(default="s", repr=False)
        addresses: Mapped[list[Address]] = relationship(
            default_factory=list, back_populates="user")

    class Address(Base):
        __tablename__ = "addresses"
        id: Mapped[int] = mapped_column(init=False, primary_key=True)
        email: Mapped[str]
        user_id: Mapped[int | None] = mapped_column(
            ForeignKey("users.id"), init=False, default=None)
        user: Mapped[User | None] = relationship(default=None, back_populates="addresses",
                                                    repr=False)

    assert [f.name for f in dataclasses.fields(User)] == [
        "id", "name", "nick", "secret", "addresses"]
    u = User("ed")
    assert repr(u) == "test_mapped_as_dataclass_builds_init_repr_eq_and_persists.<locals>." \
        "User(id=None, name='ed', nick=None, addresses=[])" or \
        repr(u).endswith("User(id=None, name='ed', nick=None, addresses=[])")
    assert User("ed") == User("ed") and User("ed") != User("al")
    with pytest.raises(TypeError):
        User()  # name is required
    u.addresses.append(Address("e@x"))
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(u)
        s.commit()
        assert u.id == 1 and u.addresses[0].user is u
    assert read_rows(User.__table__) == [(1, "ed", None, "s")]
    assert read_rows(Address.__table__) == [(1, "e@x", 1)]


def test_dataclass_options_kw_only_and_registry_decorator(metadata):
    class Base(MappedAsDataclass, DeclarativeBase, kw_only=True):
        pass

    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True, default=None)
        name: Mapped[str]

    item = Item(name="x")
    assert (item.id, item.name) == (None, "x")
    with pytest.raises(TypeError):
        Item("x")  # keyword-only

    reg = registry()

    @reg.mapped_as_dataclass(repr=False)
    class Thing:
        __tablename__ = "things"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        label: Mapped[str] = mapped_column(String(10), default="l")

    t = Thing()
    assert t.label == "l" and "Thing(" not in repr(t)
    assert dataclasses.is_dataclass(Thing)


def test_dataclass_field_left_out_of_init_starts_with_its_default(metadata, engine, read_rows):
    class Base(MappedAsDataclass, DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    def twenty() -> int:
        return 20

    class Counter(Base):
        __tablename__ = "counters"
        id: Mapped[int] = mapped_column(primary_key=True)
        start: Mapped[int] = mapped_column(default=13, init=False)
        step: Mapped[int] = mapped_column(default_factory=twenty, init=False)
        label: Mapped[str] = mapped_column(String(10), default="x", init=False)

    c = Counter(id=1)
    # read before any flush: the value the field declares, not None
    assert (c.start, c.step, c.label) == (13, 20, "x")
    assert Counter(id=2).start == 13
    c.start = 5
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([c, Counter(id=2)])
        s.commit()
    assert read_rows(Counter.__table__) == [(1, 5, 20, "x"), (2, 13, 20, "x")]


def test_dataclass_base_with_init_false_gets_a_keyword_constructor_with_field_defaults(
        metadata, engine, read_rows):
    class Base(MappedAsDataclass, DeclarativeBase, init=False):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Job(Base):
        __tablename__ = "jobs"
        id: Mapped[int] = mapped_column(primary_key=True, default=None)
        name: Mapped[str] = mapped_column(String(20), default=None)
        tries: Mapped[int] = mapped_column(default=7)

    class Urgent(Job):
        __tablename__ = "urgent_jobs"
        id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True, default=None)
        level: Mapped[int] = mapped_column(default=3)

    j, u = Job(name="a"), Urgent(name="b", tries=1)
    assert (j.name, j.tries, Job().tries) == ("a", 7, 7)
    assert (u.tries, u.level) == (1, 3)
    with pytest.raises(TypeError, match="Job.__init__"):
        Job("a")  # no dataclass __init__: keywords only
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([j, u])
        s.commit()
    assert read_rows(Job.__table__) == [(1, "a", 7), (2, "b", 1)]
    assert read_rows(Urgent.__table__) == [(2, 3)]


def test_dataclass_metadata_reaches_the_dataclass_field(metadata):
    class Base(MappedAsDataclass, DeclarativeBase):
        pass

    class Doc(Base):
        __tablename__ = "docs"
        id: Mapped[int] = mapped_column(primary_key=True, init=False,
                                        dataclass_metadata={"doc": "the key"})
        title: Mapped[str] = mapped_column(String(20), dataclass_metadata={"max": 20})
        parts: Mapped[list[Part]] = relationship(default_factory=list,
                                                 dataclass_metadata={"doc": "pieces"})

    class Part(Base):
        __tablename__ = "parts"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        doc_id: Mapped[int] = mapped_column(ForeignKey("docs.id"), init=False)

    try:
        fields = {f.name: dict(f.metadata) for f in dataclasses.fields(Doc)}
        assert fields == {"id": {"doc": "the key"}, "title": {"max": 20},
                          "parts": {"doc": "pieces"}}
        assert "dataclass_metadata" not in Doc.__table__.c.title.kwargs
    finally:
        Base.registry.dispose()


def test_string_inside_mapped_is_read_in_the_module(Base):
    class Parent(Base):
        __tablename__ = "parents"
        id: Mapped[int] = mapped_column(primary_key=True)
        tags: Mapped["Optional[dict[str, int]]"] = mapped_column(sa.JSON)  # noqa: UP037, UP045
        children: Mapped["list[Child]"] = relationship(back_populates="parent")  # noqa: UP037, UP045

    class Child(Base):
        __tablename__ = "children"
        id: Mapped[int] = mapped_column(primary_key=True)
        parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"))
        parent: Mapped["Optional[Parent]"] = relationship(back_populates="children")  # noqa: UP037, UP045
        other: Mapped["Parent | None"] = relationship(viewonly=True)  # noqa: UP037, UP045

    configure_mappers()
    assert Parent.__table__.c.tags.nullable is True
    assert Child.parent.property.mapper.class_ is Parent
    assert Child.other.property.uselist is False
    assert Parent.children.property.uselist is True


def test_string_annotation_names_the_class_being_defined_and_its_nested_enum(
        metadata, engine, read_rows):
    Base = make_base(metadata)

    class Node(Base):
        __tablename__ = "nodes"

        class Kind(enum.Enum):
            leaf = "leaf"
            branch = "branch"

        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[Node.Kind]
        parent_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id"))
        children: Mapped[list[Node]] = relationship(back_populates="parent")
        parent: Mapped[Node | None] = relationship(back_populates="children",
                                                   remote_side="Node.id")

    configure_mappers()
    assert Node.__table__.c.kind.type.enum_class is Node.Kind
    assert Node.children.property.mapper.class_ is Node
    assert Node.parent.property.uselist is False
    metadata.create_all(engine)
    with Session(engine) as s:
        root = Node(id=1, kind=Node.Kind.branch)
        root.children.append(Node(id=2, kind=Node.Kind.leaf))
        s.add(root)
        s.commit()
    assert read_rows("SELECT id, kind, parent_id FROM nodes ORDER BY id") == [
        (1, "branch", None), (2, "leaf", 1)]


def test_declarative_base_takes_a_type_annotation_map(metadata):
    from datamapper import declarative_base

    Base = declarative_base(metadata=metadata, type_annotation_map={str: String(33)})

    class Tag(Base):
        __tablename__ = "tags"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]

    try:
        assert Tag.__table__.c.name.type.length == 33
    finally:
        Base.registry.dispose()


@pytest.mark.parametrize("init", [True, False], ids=["in_init", "init_false"])
def test_dataclass_reference_left_at_its_default_keeps_the_foreign_key_given(
        metadata, engine, read_rows, init):
    class Base(MappedAsDataclass, DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Owner(Base):
        __tablename__ = "owners"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)

    class Pet(Base):
        __tablename__ = "pets"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        owner_id: Mapped[Optional[int]] = mapped_column(  # noqa: UP045
            ForeignKey("owners.id"), default=None)
        owner: Mapped[Optional[Owner]] = relationship(default=None, init=init)  # noqa: UP045

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        o = Owner(id=14)
        s.add(o)
        s.flush()
        by_key = Pet(id=1, owner_id=14)  # the constructor leaves `owner` alone
        assert by_key.owner is None and "owner" not in by_key.__dict__
        s.add(by_key)
        if init:
            s.add(Pet(id=2, owner=o))
            s.add(Pet(id=3, owner_id=14, owner=None))  # None given: the key is cleared
        s.flush()
        assert by_key.owner is o
        s.commit()
    expected = [(1, 14), (2, 14), (3, None)] if init else [(1, 14)]
    assert read_rows(Pet.__table__) == expected


def test_dataclass_mixins_mapped_attributes_are_constructor_fields(metadata, engine, read_rows):
    class Base(MappedAsDataclass, DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class HasId(MappedAsDataclass):
        id: Mapped[int] = mapped_column(primary_key=True, init=False)

    class HasNote:  # a plain mixin works too
        note: Mapped[Optional[str]] = mapped_column(String(20), default=None)  # noqa: UP045

    class Ticket(HasId, HasNote, Base):
        __tablename__ = "tickets"
        title: Mapped[str] = mapped_column(String(20), default="t")

    class Bug(HasId, Base):
        __tablename__ = "bugs"
        severity: Mapped[int] = mapped_column(default=1)

    # HasId is a dataclass itself (its fields first, as dataclasses orders a base's);
    # the plain mixin's mapped attributes are fields of the mapped class's, before its own
    assert [f.name for f in dataclasses.fields(Ticket)] == ["id", "note", "title"]
    assert "note" not in Ticket.__dict__.get("__annotations__", {})
    t = Ticket(note="n", title="x")
    assert repr(t).endswith("Ticket(id=None, note='n', title='x')")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([t, Ticket("m"), Bug(severity=3)])
        s.commit()
    # (the class's own columns first, then the mixins', as SQLAlchemy orders them)
    assert [c.key for c in Ticket.__table__.c] == ["title", "id", "note"]
    assert read_rows(Ticket.__table__) == [("x", 1, "n"), ("t", 2, "m")]
    assert read_rows(Bug.__table__) == [(3, 1)]  # (severity, id)


def test_plain_dataclasses_mapped_through_field_metadata_and_mapper_args_properties(
        metadata, engine, read_rows):
    from sqlalchemy import Column, Integer

    reg = registry(metadata=metadata)

    @dataclasses.dataclass
    class Stamped:  # an unmapped dataclass mixin, 1.4 style
        __sa_dataclass_metadata_key__ = "sa"
        stamp: int = dataclasses.field(
            default=0, metadata={"sa": Column(Integer, nullable=False)})

    @reg.mapped
    @dataclasses.dataclass
    class Shelf(Stamped):
        __tablename__ = "shelves"
        id: int = dataclasses.field(init=False, metadata={"sa": Column(Integer,
                                                                       primary_key=True)})
        label: str | None = dataclasses.field(default=None, metadata={"sa": Column(String(20))})
        books: list[Book] = dataclasses.field(default_factory=list)
        __mapper_args__ = {"properties": {"books": relationship("Book")}}

    @reg.mapped
    @dataclasses.dataclass
    class Book(Stamped):
        __tablename__ = "books"
        id: int = dataclasses.field(init=False, metadata={"sa": Column(Integer,
                                                                       primary_key=True)})
        shelf_id: int | None = dataclasses.field(
            default=None, metadata={"sa": Column(ForeignKey("shelves.id"))})

    try:
        assert Shelf.__table__.c.stamp is not Book.__table__.c.stamp
        metadata.create_all(engine)
        with Session(engine) as s:
            s.add(Shelf(stamp=3, label="a", books=[Book(stamp=5)]))
            s.commit()
        assert read_rows(Shelf.__table__) == [(1, "a", 3)]  # (id, label, stamp)
        assert read_rows(Book.__table__) == [(1, 1, 5)]
    finally:
        reg.dispose()


def test_instrumented_constructor_keeps_the_signature_of_the_classes_own(metadata):
    import inspect

    class DcBase(MappedAsDataclass, DeclarativeBase):
        pass

    class Point(DcBase):
        __tablename__ = "points"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        x: Mapped[int]
        y: Mapped[int] = mapped_column(default=0)

    class Base(DeclarativeBase):
        pass

    class Named(Base):
        __tablename__ = "named"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(20))

        def __init__(self, name: str, *, shout: bool = False) -> None:
            self.name = name.upper() if shout else name

    try:
        assert list(inspect.signature(Point).parameters) == ["x", "y"]
        assert inspect.getfullargspec(Point.__init__).args == ["self", "x", "y"]
        spec = inspect.getfullargspec(Named.__init__)
        assert (spec.args, spec.kwonlyargs) == (["self", "name"], ["shout"])
        assert Named("ed", shout=True).name == "ED" and Point(1).y == 0
    finally:
        DcBase.registry.dispose()
        Base.registry.dispose()


# -- wrong annotations ---------------------------------------------------------------------
def test_plain_annotation_on_a_mapped_column_is_refused_with_the_fix(Base):
    with pytest.raises(ArgumentError, match=r"Bad\.name.*Mapped\[") as err:
        class Bad(Base):
            __tablename__ = "bad"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: str = mapped_column()
    assert "__allow_unmapped__" in str(err.value)


class Opaque:
    """A Python type with no SQL type (module level: string annotations see it)."""


def test_unknown_python_type_names_the_attribute_and_the_fix(Base):
    with pytest.raises(ArgumentError, match=r"Bad2\.blob.*type_annotation_map"):
        class Bad2(Base):
            __tablename__ = "bad2"
            id: Mapped[int] = mapped_column(primary_key=True)
            blob: Mapped[Opaque]


def test_annotation_errors_are_mapped_annotation_errors(Base):
    from datamapper.exc import MappedAnnotationError

    assert issubclass(MappedAnnotationError, ArgumentError)
    with pytest.raises(MappedAnnotationError, match=r"Bad5\.blob.*type_annotation_map"):
        class Bad5(Base):
            __tablename__ = "bad5"
            id: Mapped[int] = mapped_column(primary_key=True)
            blob: Mapped[Opaque]
    with pytest.raises(MappedAnnotationError, match=r"Bad6\.name.*Mapped\["):
        class Bad6(Base):
            __tablename__ = "bad6"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: str = mapped_column()


@pytest.mark.parametrize("construct", ["type_class", "type", "column"])
def test_sql_construct_inside_mapped_is_refused_with_the_fix(Base, construct):
    from datamapper.exc import MappedAnnotationError

    with pytest.raises(MappedAnnotationError, match=r"Bad7\.data.*mapped_column\("):
        if construct == "type_class":
            class Bad7(Base):
                __tablename__ = "bad7"
                id: Mapped[int] = mapped_column(primary_key=True)
                data: Mapped[sa.BigInteger]
        elif construct == "type":
            class Bad7(Base):
                __tablename__ = "bad7"
                id: Mapped[int] = mapped_column(primary_key=True)
                data: Mapped[sa.BigInteger()]
        else:
            class Bad7(Base):
                __tablename__ = "bad7"
                id: Mapped[int] = mapped_column(primary_key=True)
                data: Mapped[sa.Column("q", sa.BigInteger)]


def test_annotation_only_relationship_asks_for_relationship(Base):
    with pytest.raises(ArgumentError, match=r"Bad3\.other.*relationship\(\)"):
        class Bad3(Base):
            __tablename__ = "bad3"
            id: Mapped[int] = mapped_column(primary_key=True)
            other: Mapped[NotDefinedAnywhere]  # noqa: F821


def test_class_without_table_is_refused_unless_abstract(Base):
    with pytest.raises(ArgumentError, match=r"NoTable.*__tablename__.*__abstract__"):
        class NoTable(Base):
            x: Mapped[int]

    class Fine(Base):
        __abstract__ = True
        x: Mapped[int]


def test_mapped_column_without_type_or_annotation_is_refused(Base):
    with pytest.raises(ArgumentError, match=r"Bad4\.code.*no type"):
        class Bad4(Base):
            __tablename__ = "bad4"
            id: Mapped[int] = mapped_column(primary_key=True)
            code = mapped_column()


def test_dataclass_field_order_error_names_the_class_and_maps_nothing(Base, metadata):
    class DCBase(MappedAsDataclass, DeclarativeBase):
        pass

    with pytest.raises(ArgumentError, match=r"Can't make Bad5 a dataclass.*'name'"):
        class Bad5(DCBase):
            __tablename__ = "bad5"
            id: Mapped[int] = mapped_column(primary_key=True, default=None)
            name: Mapped[str]
    assert "bad5" not in DCBase.metadata.tables
    assert DCBase.registry.mappers == frozenset()


def test_a_failed_mapping_leaves_no_table_behind_and_the_class_can_be_fixed(Base):
    with pytest.raises(ArgumentError):
        class Broken(Base):
            __tablename__ = "broken"
            id: Mapped[int] = mapped_column(primary_key=True)
            other: Mapped[NotDefinedAnywhere]  # noqa: F821
    assert "broken" not in Base.metadata.tables

    class Fixed(Base):
        __tablename__ = "broken"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert Fixed.__table__.name == "broken"
