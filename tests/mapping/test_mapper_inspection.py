"""class_mapper, object_mapper, inspect(cls), configure_mappers, clear_mappers."""

import pytest
from sqlalchemy import Column, Integer, String, Table

from datamapper import (
    class_mapper,
    clear_mappers,
    configure_mappers,
    declarative_base,
    exc,
    inspect,
    object_mapper,
    registry,
)


@pytest.fixture
def User(metadata):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column("user_name", String(50))
        note = Column(String(50))

    return User


def test_class_mapper_and_inspect_class_return_same_mapper(User):
    m = class_mapper(User)
    assert inspect(User) is m
    assert m.class_ is User
    assert m.local_table is User.__table__


def test_mapper_primary_key_and_columns(User):
    m = class_mapper(User)
    assert list(m.primary_key) == [User.__table__.c.id]
    col_names = {c.name for c in m.columns}
    assert col_names == {"id", "user_name", "note"}


def test_mapper_attrs_are_keyed_by_attribute_name(User):
    m = class_mapper(User)
    keys = set(m.attrs.keys())
    assert keys == {"id", "name", "note"}
    assert "name" in m.attrs
    assert m.attrs["name"].key == "name"


def test_object_mapper_returns_class_mapper(User):
    assert object_mapper(User(name="x")) is class_mapper(User)


def test_object_mapper_of_unmapped_object_raises(User):
    class Plain:
        pass

    with pytest.raises(exc.UnmappedInstanceError) as err:
        object_mapper(Plain())
    assert "Plain" in str(err.value)


def test_class_mapper_of_unmapped_class_raises(User):
    class Plain:
        pass

    with pytest.raises(exc.UnmappedClassError) as err:
        class_mapper(Plain)
    assert "Plain" in str(err.value)


def test_inspect_of_unmapped_object_raises(User):
    class Plain:
        pass

    with pytest.raises(exc.InvalidRequestError):
        inspect(Plain())


def test_configure_mappers_is_idempotent(User):
    configure_mappers()
    configure_mappers()
    assert class_mapper(User).class_ is User


def test_clear_mappers_unmaps_classes(metadata):
    reg = registry()
    t = Table("things", metadata, Column("id", Integer, primary_key=True))

    class Thing:
        pass

    reg.map_imperatively(Thing, t)
    assert class_mapper(Thing).class_ is Thing
    clear_mappers()
    with pytest.raises(exc.UnmappedClassError):
        class_mapper(Thing)
    # the class can be mapped again afterwards
    registry().map_imperatively(Thing, t)
    assert class_mapper(Thing).local_table is t


def test_mapped_attribute_is_a_sql_expression(User):
    expr = User.name == "ed"
    sql = str(expr.compile())
    assert "user_name" in sql
    assert "ed" not in sql  # bound parameter


@pytest.mark.parametrize("how", ["datamapper", "sqlalchemy"])
def test_inspect_class_does_not_configure_reading_properties_does(metadata, how):
    import sqlalchemy
    from sqlalchemy import ForeignKey

    from datamapper import relationship

    Base = declarative_base(metadata=metadata)

    class Parent(Base):
        __tablename__ = "insp_parents"
        id = Column(Integer, primary_key=True)
        children = relationship("Child")

    class Child(Base):
        __tablename__ = "insp_children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("insp_parents.id"))

    m = (inspect if how == "datamapper" else sqlalchemy.inspect)(Parent)
    assert m is class_mapper(Parent, configure=False)
    assert not m.configured  # as the Mapper is; configuring is left to first use
    assert m.get_property("children").mapper is class_mapper(Child)
    assert m.configured


def test_relationship_attribute_names_its_target_mapper():
    from sqlalchemy import Column, ForeignKey, Integer

    from datamapper import declarative_base, inspect, relationship

    Base = declarative_base()

    class Owner(Base):
        __tablename__ = "insp_owners"
        id = Column(Integer, primary_key=True)
        pets = relationship("Pet")

    class Pet(Base):
        __tablename__ = "insp_pets"
        id = Column(Integer, primary_key=True)
        owner_id = Column(ForeignKey("insp_owners.id"))

    try:
        assert Owner.pets.entity is inspect(Pet) and Owner.pets.mapper is inspect(Pet)
        with pytest.raises(AttributeError, match="entity"):
            Owner.id.entity  # noqa: B018 - a column attribute has none
    finally:
        Base.registry.dispose()


def test_inspect_of_a_mapped_attribute_is_the_attribute(User):
    """``sqlalchemy.inspect(User.name)`` (2.x code reads ``.property`` from it)."""
    import sqlalchemy

    for insp in (sqlalchemy.inspect, inspect):
        name = insp(User.name)
        assert name is User.name and name.is_attribute and not name.is_mapper
        assert name.property is inspect(User).attrs["name"]
        assert name.parent is inspect(User) and name.class_ is User


def test_inspect_of_an_alias_tells_its_mapper_selectable_and_name(User, engine, session):
    import sqlalchemy

    from datamapper import aliased, with_polymorphic

    ua = aliased(User, name="u2")
    for insp in (sqlalchemy.inspect, inspect):
        ai = insp(ua)
        assert ai.is_aliased_class and not ai.is_mapper
        assert ai.entity is ua and ai.mapper is inspect(User) and ai.class_ is User
        assert ai.name == "u2" and ai.selectable.name == "u2" \
            and ai.selectable.element is User.__table__
        assert ai.with_polymorphic_mappers == []
    # the inspection selects like the alias
    User.metadata.create_all(engine)
    session.add(User(id=1, name="ed"))
    session.flush()
    assert session.scalars(sqlalchemy.select(sqlalchemy.inspect(ua))).one().name == "ed"
    assert inspect(with_polymorphic(User, [])).is_aliased_class


def test_attribute_views_keys_are_lists_in_mapping_order(Base):
    """mapper.attrs / column_attrs / columns .keys() give lists, in mapping order (as
    SQLAlchemy's views do), so they compare equal to a list of names."""
    from sqlalchemy import Column, Integer, String

    from datamapper import inspect

    class Thing(Base):
        __tablename__ = "insp_thing"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    m = inspect(Thing)
    assert m.attrs.keys() == ["id", "name"]
    assert m.column_attrs.keys() == ["id", "name"]
    assert m.columns.keys() == ["id", "name"]
    assert "name" in m.attrs and m.attrs.name is m.attrs["name"]
