"""registry(): mapped, map_imperatively, generate_base, metadata; the legacy
mapper() function."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from datamapper import class_mapper, exc, inspect, mapper, registry


def test_registry_has_metadata():
    reg = registry()
    assert isinstance(reg.metadata, MetaData)


def test_registry_mapped_decorator(engine, make_session, read_rows):
    reg = registry()

    @reg.mapped
    class User:
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    assert reg.metadata.tables["users"] is User.__table__
    reg.metadata.create_all(engine)
    s = make_session()
    s.add(User(id=1, name="ed"))
    s.commit()
    assert read_rows(User.__table__) == [(1, "ed")]


def test_registry_generate_base(engine, make_session, read_rows):
    reg = registry()
    Base = reg.generate_base()

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    assert Base.metadata is reg.metadata
    reg.metadata.create_all(engine)
    s = make_session()
    s.add(User(id=1, name="ed"))
    s.commit()
    assert read_rows(User.__table__) == [(1, "ed")]


def test_map_imperatively_with_renamed_property(engine, make_session, read_rows, sql_log):
    reg = registry()
    users = Table(
        "users",
        reg.metadata,
        Column("id", Integer, primary_key=True),
        Column("user_name", String(50)),
    )

    class User:
        pass

    m = reg.map_imperatively(User, users, properties={"name": users.c.user_name})
    assert m is class_mapper(User)
    assert m.class_ is User
    assert m.local_table is users
    reg.metadata.create_all(engine)
    s = make_session()
    u = User()
    u.id = 1
    u.name = "ed"
    s.add(u)
    s.commit()
    assert read_rows(users) == [(1, "ed")]
    s.expunge_all()
    got = s.query(User).filter(User.name == "ed").one()
    assert got.id == 1 and got.name == "ed"


def test_map_imperatively_plain_columns(engine, make_session):
    reg = registry()
    t = Table(
        "things", reg.metadata, Column("id", Integer, primary_key=True), Column("v", String(10))
    )

    class Thing:
        def __init__(self, v):
            self.v = v

    reg.map_imperatively(Thing, t)
    reg.metadata.create_all(engine)
    s = make_session()
    th = Thing("x")
    s.add(th)
    s.flush()
    assert th.id is not None
    assert inspect(th).persistent


def test_legacy_mapper_function(metadata, engine, make_session, read_rows):
    users = Table(
        "users",
        metadata,
        Column("user_id", Integer, primary_key=True),
        Column("user_name", String(50)),
    )

    class User:
        pass

    m = mapper(User, users, properties={"id": users.c.user_id, "name": users.c.user_name})
    assert class_mapper(User) is m
    metadata.create_all(engine)
    s = make_session()
    u = User()
    u.id, u.name = 5, "ed"
    s.add(u)
    s.commit()
    assert read_rows(users) == [(5, "ed")]
    assert s.get(User, 5) is u
    assert s.query(User).filter_by(name="ed").one() is u


def test_mapping_a_class_twice_raises(metadata):
    t = Table("t", metadata, Column("id", Integer, primary_key=True))

    class C:
        pass

    reg = registry()
    reg.map_imperatively(C, t)
    with pytest.raises((exc.ArgumentError, exc.InvalidRequestError)):
        reg.map_imperatively(C, t)


def test_table_without_primary_key_cannot_be_mapped(metadata):
    t = Table("nopk", metadata, Column("a", Integer), Column("b", Integer))

    class C:
        pass

    with pytest.raises(exc.ArgumentError) as err:
        registry().map_imperatively(C, t)
    assert "nopk" in str(err.value) or "C" in str(err.value)


def test_registry_mapped_class_gets_keyword_constructor(engine):
    reg = registry()

    @reg.mapped
    class User:
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    assert User(name="ed").name == "ed"
    with pytest.raises(TypeError) as err:
        User(nickname="ed")
    assert "User" in str(err.value) and "nickname" in str(err.value)
