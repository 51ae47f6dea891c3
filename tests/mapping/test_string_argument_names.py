"""Names in string arguments of ``relationship()``: module-qualified class paths,
schema-qualified table names, tables of a MetaData with a default schema or of the
class's own MetaData, and class names that two modules share."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.exc import SAWarning

from datamapper import configure_mappers, declarative_base, exc, relationship


def test_module_qualified_target_and_primaryjoin(Base, engine, make_session, read_rows):
    here = __name__

    class User(Base):
        __tablename__ = "mq_users"
        id = Column(Integer, primary_key=True)
        addresses = relationship(
            f"{here}.Address",
            primaryjoin=f"{here}.User.id == {here}.Address.user_id",
            order_by=f"{here.split('.')[-1]}.Address.id")

    class Address(Base):
        __tablename__ = "mq_addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("mq_users.id"))

    configure_mappers()
    assert str(User.addresses.property.primaryjoin) == "mq_users.id = mq_addresses.user_id"
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(User(id=1, addresses=[Address(id=1), Address(id=2)]))
    s.commit()
    assert read_rows(Address.__table__) == [(1, 1), (2, 1)]


def _module_class(Base, module, name, tablename, **attrs):
    """A mapped class named ``name`` as if defined in module ``module``."""
    return type(Base)(name, (Base,), {
        "__module__": module, "__tablename__": tablename,
        "id": Column(Integer, primary_key=True), **attrs})


def _items_and_owner(Base, target):
    _module_class(Base, "app.shop.models", "Item", "shop_items",
                  owner_id=Column(Integer, ForeignKey("owners.id")))
    _module_class(Base, "app.blog.models", "Item", "blog_items",
                  owner_id=Column(Integer, ForeignKey("owners.id")))
    return _module_class(Base, "app.core", "Owner", "owners", items=relationship(target))


def test_a_class_name_two_modules_share_must_be_module_qualified(Base):
    _items_and_owner(Base, "Item")
    try:
        with pytest.raises(exc.InvalidRequestError,
                           match="Multiple classes found for path 'Item'"):
            configure_mappers()
    finally:
        Base.registry.dispose()


@pytest.mark.parametrize("path", ["shop.models.Item", "app.shop.models.Item"])
def test_a_partly_module_qualified_path_names_one_of_the_classes(Base, path):
    Owner = _items_and_owner(Base, path)
    configure_mappers()
    assert Owner.items.property.mapper.local_table.name == "shop_items"


def test_redefining_a_class_of_one_module_warns_and_the_new_one_is_named(Base):
    _module_class(Base, "app.m", "Thing", "things_a")
    with pytest.warns(SAWarning, match="already contains a class with the same class name"):
        New = _module_class(Base, "app.m", "Thing", "things_b")
    Holder = _module_class(Base, "app.m", "Holder", "holders",
                           thing_id=Column(Integer, ForeignKey("things_b.id")),
                           thing=relationship("Thing"))
    configure_mappers()
    assert Holder.thing.property.mapper.class_ is New


@pytest.mark.parametrize("qualified", [False, True])
def test_tables_of_a_metadata_with_a_default_schema(qualified):
    md = MetaData(schema="fooschema")
    Base = declarative_base(metadata=md)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)

    class Prop(Base):
        __tablename__ = "props"
        id = Column(Integer, primary_key=True)

    links = Table("user_to_prop", md, Column("user_id", Integer, ForeignKey(User.id)),
                  Column("prop_id", Integer, ForeignKey(Prop.id)))
    name = "fooschema.user_to_prop" if qualified else "user_to_prop"
    User.props = relationship("Prop", secondary=name)
    User.props2 = relationship(
        "Prop", secondary=links, viewonly=True,
        primaryjoin=f"User.id == {name}.c.user_id",
        secondaryjoin=f"{name}.c.prop_id == Prop.id")
    configure_mappers()
    assert User.props.property.secondary is links
    assert str(User.props2.property.primaryjoin) == \
        "fooschema.users.id = fooschema.user_to_prop.user_id"


def test_schema_qualified_table_in_a_join_expression():
    Base = declarative_base()

    class User(Base):
        __tablename__ = "users"
        __table_args__ = {"schema": "fooschema"}
        id = Column(Integer, primary_key=True)
        props = relationship(
            "Prop", secondary="fooschema.user_to_prop",
            primaryjoin="User.id == fooschema.user_to_prop.c.user_id",
            secondaryjoin="fooschema.user_to_prop.c.prop_id == Prop.id")

    class Prop(Base):
        __tablename__ = "props"
        __table_args__ = {"schema": "fooschema"}
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    links = Table("user_to_prop", Base.metadata,
                  Column("user_id", Integer, ForeignKey("fooschema.users.id")),
                  Column("prop_id", Integer, ForeignKey("fooschema.props.id")),
                  schema="fooschema")
    configure_mappers()
    assert User.props.property.secondary is links
    assert str(User.props.property.secondaryjoin) == \
        "fooschema.user_to_prop.prop_id = fooschema.props.id"


def test_tables_of_the_class_own_metadata():
    alt = MetaData()
    a_to_b = Table("a_to_b", alt, Column("a_id", Integer, ForeignKey("a.id")),
                   Column("b_id", Integer, ForeignKey("b.id")))
    Base = declarative_base()

    class AltBase(Base):
        __abstract__ = True
        metadata = alt

    class A(AltBase):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", secondary="a_to_b")
        bs2 = relationship("B", secondary=a_to_b, viewonly=True,
                           primaryjoin="A.id == a_to_b.c.a_id",
                           secondaryjoin="a_to_b.c.b_id == B.id")

    class B(AltBase):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)

    configure_mappers()
    assert A.__table__.metadata is alt
    assert A.bs.property.secondary is a_to_b
    assert A.bs2.property.secondary is a_to_b

