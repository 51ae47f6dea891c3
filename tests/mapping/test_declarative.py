"""declarative_base: __tablename__ with Core Columns, __table__, composite
keys, attribute names that differ from column names, default constructor."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from datamapper import class_mapper, declarative_base, inspect


def test_tablename_and_columns_create_table_in_base_metadata(metadata):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    assert Base.metadata is metadata
    assert isinstance(User.__table__, Table)
    assert metadata.tables["users"] is User.__table__
    assert [c.name for c in User.__table__.columns] == ["id", "name"]
    assert class_mapper(User).local_table is User.__table__


def test_declarative_base_without_metadata_makes_its_own():
    Base = declarative_base()
    assert isinstance(Base.metadata, MetaData)


def test_declarative_base_name_and_cls(metadata):
    class Mixin:
        def hello(self):
            return "hi " + self.name

    Base = declarative_base(metadata=metadata, cls=Mixin, name="MyBase")
    assert Base.__name__ == "MyBase"

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    assert User(name="ed").hello() == "hi ed"


def test_explicit_table_attribute(metadata, engine, make_session, read_rows):
    Base = declarative_base(metadata=metadata)
    users = Table(
        "users", metadata, Column("id", Integer, primary_key=True), Column("name", String(50))
    )

    class User(Base):
        __table__ = users

    assert class_mapper(User).local_table is users
    metadata.create_all(engine)
    s = make_session()
    s.add(User(id=1, name="ed"))
    s.commit()
    assert read_rows(users) == [(1, "ed")]
    assert User.name is not None


def test_attribute_name_differs_from_column_name(
    metadata, engine, make_session, read_rows, sql_log
):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column("user_name", String(50))

    assert "user_name" in User.__table__.c
    assert "name" not in User.__table__.c
    metadata.create_all(engine)
    s = make_session()
    sql_log.clear()
    s.add(User(id=1, name="ed"))
    s.commit()
    assert "user_name" in sql_log.matching("INSERT")[0]
    assert read_rows(User.__table__) == [(1, "ed")]
    s.expire_all()
    u = s.get(User, 1)
    assert u.name == "ed"
    u.name = "jack"
    s.commit()
    assert read_rows(User.__table__) == [(1, "jack")]
    assert s.query(User).filter(User.name == "jack").one() is u


def test_composite_primary_key_roundtrip(metadata, engine, make_session, read_rows):
    Base = declarative_base(metadata=metadata)

    class Pair(Base):
        __tablename__ = "pairs"
        a = Column(Integer, primary_key=True, autoincrement=False)
        b = Column(String(10), primary_key=True)
        v = Column(String(20))

    assert [c.name for c in class_mapper(Pair).primary_key] == ["a", "b"]
    metadata.create_all(engine)
    s = make_session()
    p1 = Pair(a=1, b="x", v="one")
    p2 = Pair(a=1, b="y", v="two")
    s.add_all([p1, p2])
    s.commit()
    assert read_rows(Pair.__table__) == [(1, "x", "one"), (1, "y", "two")]
    assert inspect(p1).identity == (1, "x")
    assert s.get(Pair, (1, "y")) is p2
    assert s.get(Pair, {"a": 1, "b": "x"}) is p1
    p2.v = "TWO"
    s.delete(p1)
    s.commit()
    assert read_rows(Pair.__table__) == [(1, "y", "TWO")]


def test_composite_primary_key_via_mapper_args(metadata, engine, make_session):
    Base = declarative_base(metadata=metadata)
    t = Table("kv", metadata, Column("k1", Integer), Column("k2", Integer), Column("v", String(20)))

    class KV(Base):
        __table__ = t
        __mapper_args__ = {"primary_key": [t.c.k1, t.c.k2]}

    assert [c.name for c in class_mapper(KV).primary_key] == ["k1", "k2"]
    metadata.create_all(engine)
    s = make_session()
    s.add(KV(k1=1, k2=2, v="x"))
    s.commit()
    s.expunge_all()
    assert s.get(KV, (1, 2)).v == "x"


def test_default_constructor_sets_mapped_attributes(metadata):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column("user_name", String(50))

    u = User(id=3, name="ed")
    assert (u.id, u.name) == (3, "ed")
    assert inspect(u).transient
    empty = User()
    assert empty.name is None


@pytest.mark.parametrize("bad", ["bogus", "user_name", "__class__"])
def test_default_constructor_rejects_unknown_keyword(metadata, bad):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column("user_name", String(50))

    with pytest.raises(TypeError) as err:
        User(name="ed", **{bad: 1})
    assert "User" in str(err.value)
    assert bad in str(err.value)


def test_custom_init_is_kept(metadata):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

        def __init__(self, name):
            self.name = name.upper()

    u = User("ed")
    assert u.name == "ED"
    assert list(inspect(u).attrs["name"].history.added) == ["ED"]


def test_declarative_class_without_primary_key_raises(metadata):
    from datamapper import exc

    Base = declarative_base(metadata=metadata)
    with pytest.raises(exc.ArgumentError) as err:

        class NoKey(Base):
            __tablename__ = "nokey"
            a = Column(Integer)

    assert "nokey" in str(err.value) or "NoKey" in str(err.value)


def test_plain_class_attributes_and_methods_are_not_mapped(metadata):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        greeting = "hello"

        def shout(self):
            return self.name.upper()

        @property
        def label(self):
            return f"<{self.name}>"

    assert set(class_mapper(User).attrs.keys()) == {"id", "name"}
    u = User(name="ed")
    assert u.greeting == "hello"
    assert u.shout() == "ED"
    assert u.label == "<ed>"
    assert [c.name for c in User.__table__.columns] == ["id", "name"]


def test_composite_primary_key_change_updates_row(metadata, engine, make_session, read_rows):
    Base = declarative_base(metadata=metadata)

    class Pair(Base):
        __tablename__ = "pairs"
        a = Column(Integer, primary_key=True, autoincrement=False)
        b = Column(String(10), primary_key=True)
        v = Column(String(20))

    metadata.create_all(engine)
    s = make_session()
    p = Pair(a=1, b="x", v="one")
    s.add_all([p, Pair(a=1, b="y", v="two")])
    s.commit()
    p.b = "z"
    s.commit()
    assert read_rows(Pair.__table__) == [(1, "y", "two"), (1, "z", "one")]
    assert inspect(p).identity == (1, "z")
    assert s.get(Pair, (1, "z")) is p
    assert s.get(Pair, (1, "x")) is None


@pytest.mark.parametrize("root", ["DeclarativeBase", "DeclarativeBaseNoMeta"])
def test_model_deriving_from_declarative_base_itself_is_refused_not_left_unmapped(root):
    import sqlalchemy as sa

    import datamapper
    from datamapper import Mapped, mapped_column

    base = getattr(datamapper, root)
    with pytest.raises(sa.exc.InvalidRequestError, match=r"derive User from Base"):
        class User(base):
            __tablename__ = "dd_users"
            id: Mapped[int] = mapped_column(primary_key=True)

    with pytest.raises(sa.exc.InvalidRequestError, match=rf"deriving from {root} directly"):
        class Account(base):
            __table__ = sa.Table("dd_accounts", sa.MetaData(),
                                 sa.Column("id", sa.Integer, primary_key=True))
