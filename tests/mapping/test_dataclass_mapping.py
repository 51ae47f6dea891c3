"""Mapped dataclasses (``MappedAsDataclass``, ``registry.mapped_as_dataclass``,
``mapped_as_dataclass()``, ``unmapped_dataclass()``): constructor signatures, defaults
and what reaches the database."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import InitVar
from typing import Optional

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String
from sqlalchemy.exc import ArgumentError

from datamapper import (
    DeclarativeBase,
    Mapped,
    MappedAsDataclass,
    Session,
    column_property,
    configure_mappers,
    declared_attr,
    mapped_as_dataclass,
    mapped_column,
    query_expression,
    registry,
    relationship,
    unmapped_dataclass,
)


@pytest.fixture
def DCBase(metadata):
    class Base(MappedAsDataclass, DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata
    Base.metadata = metadata
    return Base


def test_read_only_attributes_are_left_out_of_the_dataclass_constructor(
        DCBase, engine, read_rows):
    class Item(DCBase):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        name: Mapped[str] = mapped_column()
        shout: Mapped[str] = column_property(name + "!")
        score: Mapped[int] = query_expression()

    assert list(inspect.signature(Item.__init__).parameters) == ["self", "name"]
    assert Item("a") == Item("a") and Item("a") != Item("b")
    assert repr(Item("a")).endswith("Item(id=None, name='a', shout=None, score=None)")
    DCBase.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Item("a"))
        s.commit()
        loaded = s.get(Item, 1)
        assert (loaded.name, loaded.shout) == ("a", "a!")
    assert read_rows(Item.__table__) == [(1, "a")]


def test_read_only_attribute_options_repr_and_compare_are_kept(DCBase):
    class Item(DCBase):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        name: Mapped[str] = mapped_column()
        shout: Mapped[str] = column_property(name + "!", repr=False, compare=True)

    a, b = Item("a"), Item("a")
    assert repr(a).endswith("Item(id=None, name='a')")
    a.shout = "x"
    assert a != b
    b.shout = "x"
    assert a == b


@pytest.mark.parametrize("as_dataclass", [False, True])
def test_columns_declared_on_the_declarative_base_go_to_every_mapped_class(
        metadata, engine, read_rows, as_dataclass):
    bases = (MappedAsDataclass, DeclarativeBase) if as_dataclass else (DeclarativeBase,)
    dc = {"init": False} if as_dataclass else {}

    class Base(*bases):
        type_annotation_map = {str: String(50)}
        id: Mapped[int] = mapped_column(primary_key=True, **dc)
        note: Mapped[str | None] = mapped_column(default=None)

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Cat(Base):
        __tablename__ = "cats"
        name: Mapped[str] = mapped_column(default="c")

    class Dog(Base):
        __tablename__ = "dogs"
        name: Mapped[str] = mapped_column(default="d")

    assert list(Cat.__table__.c.keys()) == ["name", "id", "note"]
    assert Cat.__table__.c.id is not Dog.__table__.c.id
    if as_dataclass:
        assert [f.name for f in dataclasses.fields(Cat)] == ["id", "note", "name"]
        cat = Cat("n1", "tom")
    else:
        cat = Cat(note="n1", name="tom")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([cat, Dog()])
        s.commit()
    assert read_rows(Cat.__table__) == [("tom", 1, "n1")]
    assert read_rows(Dog.__table__) == [("d", 1, None)]


def test_mapped_as_dataclass_function_and_unmapped_dataclass_mixin(metadata, engine, read_rows):
    reg = registry(metadata=metadata)

    @unmapped_dataclass(kw_only=True)
    class Audited:
        created_by: Mapped[str] = mapped_column(String(20))
        note: Mapped[str | None] = mapped_column(String(20), default=None)
        revision: Mapped[int] = mapped_column(default=1, init=False)

    assert dataclasses.is_dataclass(Audited) and not hasattr(Audited, "__mapper__")

    @mapped_as_dataclass(reg)
    class Doc(Audited):
        __tablename__ = "docs"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        title: Mapped[str] = mapped_column(String(20))

    assert list(inspect.signature(Doc.__init__).parameters) == [
        "self", "title", "created_by", "note"]
    d = Doc("t", created_by="ann")
    assert (d.title, d.created_by, d.note, d.revision) == ("t", "ann", None, 1)
    with pytest.raises(TypeError):
        Doc("t", "ann")  # the mixin's fields are keyword-only

    @mapped_as_dataclass(reg, repr=False)
    class Tag:
        __tablename__ = "tags"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        label: Mapped[str] = mapped_column(String(20), default="x")

    assert "__repr__" not in Tag.__dict__ and Tag().label == "x"
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([d, Doc("u", created_by="bob", note="n"), Tag()])
        s.commit()
    assert read_rows(Doc.__table__) == [(1, "t", "ann", None, 1), (2, "u", "bob", "n", 1)]
    assert read_rows(Tag.__table__) == [(1, "x")]


def test_mapped_as_dataclass_function_wants_a_registry():
    with pytest.raises(ArgumentError, match=r"mapped_as_dataclass\(\): pass a datamapper "
                                            r"registry\(\)"):
        mapped_as_dataclass(MetaData(), kw_only=True)


@pytest.mark.parametrize("given_in_init", [True, False])
def test_merge_of_a_new_dataclass_instance_keeps_values_its_defaults_did_not_set(
        DCBase, engine, read_rows, given_in_init):
    init = {} if given_in_init else {"init": False}

    class Job(DCBase):
        __tablename__ = "jobs"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        name: Mapped[str] = mapped_column()
        status: Mapped[str] = mapped_column(default="new", **init)
        owner: Mapped[str | None] = mapped_column(default=None, **init)

    job = Job(id=1, name="a")
    # the defaults read back, and are what the INSERT writes, without being held as
    # values the program set
    assert (job.status, job.owner) == ("new", None)
    assert "status" not in job.__dict__ and "owner" not in job.__dict__
    assert job == Job(id=1, name="a")
    DCBase.metadata.create_all(engine)
    with Session(engine) as s:
        job.status, job.owner = "running", "ann"
        s.add_all([job, Job(id=2, name="b")])
        s.commit()
        merged = s.merge(Job(id=1, name="a2"))
        assert merged is job
        assert (job.name, job.status, job.owner) == ("a2", "running", "ann")
        explicit = Job(id=2, name="b")
        explicit.status, explicit.owner = "new", None  # given: merged as given
        s.merge(explicit)
        s.commit()
    assert read_rows(Job.__table__) == [(1, "a2", "running", "ann"), (2, "b", "new", None)]


def test_dataclass_defaults_seen_by_a_new_object_after_flush_and_expire(DCBase, engine):
    class Job(DCBase):
        __tablename__ = "jobs"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        status: Mapped[str] = mapped_column(default="new")
        tries: Mapped[int] = mapped_column(default=3, init=False)

    DCBase.metadata.create_all(engine)
    with Session(engine) as s:
        job = Job()
        s.add(job)
        s.flush()
        assert (job.status, job.tries) == ("new", 3)
        s.expire(job)
        assert (job.status, job.tries) == ("new", 3)
        job2 = Job(status="x")
        assert (job2.status, job2.tries) == ("x", 3)


def test_plain_fields_of_dataclass_bases_are_constructor_arguments_only_there(metadata):
    class Plain(DeclarativeBase):
        registry = registry(metadata=metadata)
        tag: int  # a plain annotation of a base that is not a dataclass: no field

    class Abstract(MappedAsDataclass, Plain):
        __abstract__ = True
        origin: str  # a dataclass base's plain field: a constructor argument
        stamp: InitVar[int]

        def __post_init__(self, stamp):
            self.stamped = stamp

    class Row(Abstract):
        __tablename__ = "rows"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert list(inspect.signature(Row.__init__).parameters) == [
        "self", "origin", "stamp", "id"]
    row = Row("x", 3, 7)
    assert (row.origin, row.stamped, row.id) == ("x", 3, 7)
    assert list(Row.__table__.c.keys()) == ["id"]


@pytest.mark.parametrize("as_dataclass", [False, True])
def test_mixin_declared_attr_relationship_names_the_mixins_foreign_key_column(
        metadata, engine, read_rows, as_dataclass):
    bases = (MappedAsDataclass, DeclarativeBase) if as_dataclass else (DeclarativeBase,)
    dc = {"init": False} if as_dataclass else {}

    class Base(*bases):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True, **dc)
        name: Mapped[str] = mapped_column(String(20))

    class CreatedBy(*((MappedAsDataclass,) if as_dataclass else ())):
        created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), **dc)
        reviewed_by_id: Mapped[int | None] = mapped_column(
            ForeignKey("users.id"), default=None, **dc)

        @declared_attr
        def created_by(cls) -> Mapped[User]:
            return relationship(foreign_keys=[cls.created_by_id], **dc)

    class Item(CreatedBy, Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True, **dc)

    configure_mappers()
    assert Item.created_by.property.local_columns == {Item.__table__.c.created_by_id}
    metadata.create_all(engine)
    with Session(engine) as s:
        ann = User(name="ann")
        item = Item()
        item.created_by = ann
        s.add(item)
        s.commit()
        assert item.created_by is ann
    assert read_rows(Item.__table__) == [(1, 1, None)]


def test_relationship_dataclass_default_other_than_none_is_refused():
    with pytest.raises(ArgumentError, match=r"default='x' for relationship\('B'\).*only be None"):
        relationship("B", default="x")
    assert relationship("B", default=None) is not None


def test_base_and_abstract_classes_of_mapped_as_dataclass_are_dataclasses(metadata, engine,
                                                                          read_rows):
    # fields come in the order of the classes (base first, then a dataclass mixin, then
    # the mapped class), and the class options of the base hold below it
    class Base(MappedAsDataclass, DeclarativeBase, unsafe_hash=True):
        metadata = MetaData()
        a: int

    @dataclasses.dataclass
    class Mixin:
        b: int

    class Abstract(Base):
        __abstract__ = True
        c: Mapped[int] = mapped_column()

    class Child(Mixin, Abstract):
        __tablename__ = "child"
        d: Mapped[int] = mapped_column(primary_key=True)

    class Other(Abstract, repr=False):
        __tablename__ = "other"
        d: Mapped[int] = mapped_column(primary_key=True)

    assert dataclasses.is_dataclass(Base) and dataclasses.is_dataclass(Abstract)
    assert [f.name for f in dataclasses.fields(Child)] == ["a", "c", "b", "d"]
    child = Child(1, 2, 3, 4)
    assert (child.a, child.b, child.c, child.d) == (1, 3, 2, 4)
    assert hash(child) == hash(Child(1, 2, 3, 4))
    assert repr(child).endswith("Child(a=1, c=2, b=3, d=4)")
    # repr=False on Other: the abstract class's repr, without Other's own field
    assert repr(Other(1, 2, 4)).endswith("Other(a=1, c=2)")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(child)
        s.commit()
    assert read_rows("SELECT c, d FROM child") == [(2, 4)]


@pytest.mark.parametrize("mixin_kind", ["subclass", "decorator"])
def test_dataclass_mixin_columns_keep_the_class_body_order(metadata, engine, read_rows,
                                                           mixin_kind):
    class Base(MappedAsDataclass, DeclarativeBase):
        pass

    Base.registry.metadata = Base.metadata = metadata

    if mixin_kind == "subclass":
        class Mixin(MappedAsDataclass):
            id: Mapped[int] = mapped_column(primary_key=True)
            x = Column(Integer)  # a column that is no dataclass field
            y: Mapped[Optional[str]] = mapped_column(String(20), default=None)  # noqa: UP045
    else:
        @unmapped_dataclass
        class Mixin:  # type: ignore[no-redef]  # the other variant of the same mixin
            id: Mapped[int] = mapped_column(primary_key=True)
            x = Column(Integer)
            y: Mapped[Optional[str]] = mapped_column(String(20), default=None)  # noqa: UP045

    class Thing(Mixin, Base):
        __tablename__ = "thing"
        z: Mapped[int] = mapped_column(default=5)

    assert [f.name for f in dataclasses.fields(Thing)] == ["id", "y", "z"]
    assert [c.name for c in Thing.__table__.c] == ["z", "id", "x", "y"]
    metadata.create_all(engine)
    with Session(engine) as s:
        thing = Thing(1, "a")
        thing.x = 7
        s.add(thing)
        s.commit()
    assert read_rows(Thing.__table__) == [(5, 1, 7, "a")]


def test_none_for_a_subclass_column_default_inserts_the_subclass_default(DCBase, engine,
                                                                        read_rows):
    # None for a column with a default leaves it to the default: for a subclass that
    # declares the column again with its own default (use_existing_column), its own
    class Parent(DCBase):
        __tablename__ = "parent"
        __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "parent"}
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        type: Mapped[str] = mapped_column(init=False)
        data: Mapped[Optional[str]] = mapped_column(default="parent")  # noqa: UP045

    class Child(Parent):
        __mapper_args__ = {"polymorphic_identity": "child"}
        data: Mapped[Optional[str]] = mapped_column(  # noqa: UP045
            default="child", use_existing_column=True)

    DCBase.metadata.create_all(engine)
    with Session(engine) as s:
        objs = [Parent(data=None), Child(data=None), Child(), Child(data="given")]
        s.add_all(objs)
        s.commit()
        assert [o.data for o in objs] == ["parent", "child", "child", "given"]
    assert read_rows(Parent.__table__) == [
        (1, "parent", "parent"), (2, "child", "child"), (3, "child", "child"),
        (4, "child", "given")]


@pytest.mark.parametrize("mixin_kind", ["mixin", "abstract"])
def test_a_mixins_declared_attr_relationship_is_a_constructor_field(DCBase, engine,
                                                                    read_rows, mixin_kind):
    class User(DCBase):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        name: Mapped[str] = mapped_column()

    class CreatedBy(MappedAsDataclass):
        created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), init=False)

        @declared_attr
        def created_by(cls) -> Mapped[User]:
            return relationship(foreign_keys=[cls.created_by_id])

        @declared_attr
        def creator(cls) -> Mapped[Optional[User]]:  # noqa: UP045
            return relationship(foreign_keys=[cls.created_by_id], viewonly=True, init=False)

    if mixin_kind == "abstract":
        class Abstract(CreatedBy, DCBase):
            __abstract__ = True

        bases: tuple[type, ...] = (Abstract,)
    else:
        bases = (CreatedBy, DCBase)

    class Item(*bases):  # type: ignore[misc]  # bases chosen above
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True, init=False)
        description: Mapped[str] = mapped_column()

    fields = [f.name for f in dataclasses.fields(Item)]
    assert fields == ["created_by_id", "created_by", "creator", "id", "description"]
    assert "created_by" not in Item.__dict__.get("__annotations__", {})
    u = User("u1")
    item = Item(created_by=u, description="d1")
    assert item.created_by is u and item == Item(u, "d1")
    DCBase.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(item)
        s.commit()
    assert read_rows("SELECT id, created_by_id, description FROM items") == [(1, 1, "d1")]


@pytest.mark.parametrize("attr_init", [True, False])
def test_merge_of_a_new_dataclass_keeps_a_collection_it_was_not_given(DCBase, engine,
                                                                     read_rows, attr_init):
    # a collection's default_factory=list is not stored by the constructor: merge() of
    # an object made without it leaves the persistent collection (and its rows) alone
    class Parent(DCBase):
        __tablename__ = "parents"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        name: Mapped[str] = mapped_column()
        kids: Mapped[list[Kid]] = relationship(
            cascade="all, delete-orphan", default_factory=list,
            **({} if attr_init else {"init": False}))

    class Kid(DCBase):
        __tablename__ = "kids"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"), init=False)

    assert Parent(1, "new").kids == []
    DCBase.metadata.create_all(engine)
    with Session(engine) as s:
        p = Parent(1, "x")
        p.kids.append(Kid(1))
        s.add(p)
        s.commit()
        merged = s.merge(Parent(1, "y"))
        s.commit()
        assert merged is p and [k.id for k in p.kids] == [1]
    assert read_rows(Parent.__table__) == [(1, "y")]
    assert read_rows(Kid.__table__) == [(1, 1)]
