"""SQLAlchemy Core statements built from mapped classes, run through the Session.

``sqlalchemy.select(User)``, ``insert(User)``, ``update(User)``, ``delete(User)``,
joins, ``select_from``, ``exists``, ``func``, subqueries and unions accept mapped
classes; ``session.execute``/``scalars`` return objects through the identity map
for entities and rows for columns; ``sqlalchemy.inspect`` knows mapped classes
(declarative) and instances.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, delete, exists, func, insert, select, update
from sqlalchemy.exc import InvalidRequestError

import datamapper
from datamapper import (
    DeclarativeBase,
    DeclarativeBaseNoMeta,
    InstanceState,
    Mapped,
    Mapper,
    Session,
    mapped_column,
    relationship,
)


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        addresses: Mapped[list[Address]] = relationship(back_populates="user",
                                                        order_by="Address.id")
        tags: Mapped[list[Tag]] = relationship(secondary="user_tags")

    class Address(Base):
        __tablename__ = "addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]
        user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
        user: Mapped[User] = relationship(back_populates="addresses")

    class Tag(Base):
        __tablename__ = "tags"
        id: Mapped[int] = mapped_column(primary_key=True)
        word: Mapped[str]

    sa.Table("user_tags", metadata,
             sa.Column("user_id", ForeignKey("users.id"), primary_key=True),
             sa.Column("tag_id", ForeignKey("tags.id"), primary_key=True))
    metadata.create_all(engine)
    with Session(engine) as s:
        t = Tag(word="x")
        s.add_all([
            User(id=1, name="ed", addresses=[Address(email="ed@a"), Address(email="ed@b")],
                 tags=[t]),
            User(id=2, name="wendy", addresses=[Address(email="w@a")]),
            User(id=3, name="jack"),
        ])
        s.commit()
    return User, Address, Tag


def test_core_select_of_a_class_returns_objects_through_the_identity_map(models, engine):
    User, Address, _Tag = models
    with Session(engine) as s:
        users = s.scalars(select(User).where(User.name != "jack").order_by(User.id)).all()
        assert [u.name for u in users] == ["ed", "wendy"]
        assert s.get(User, 1) is users[0]
        again = s.execute(select(User).where(User.id == 1)).scalar_one()
        assert again is users[0]
        assert s.scalars(select(User).filter_by(name="wendy")).one() is users[1]


def test_core_select_of_entities_and_columns_gives_rows(models, engine):
    User, Address, _Tag = models
    with Session(engine) as s:
        rows = s.execute(select(User, Address).join(Address, User.id == Address.user_id)
                         .order_by(Address.id)).all()
        assert [(u.name, a.email) for u, a in rows] == [
            ("ed", "ed@a"), ("ed", "ed@b"), ("wendy", "w@a")]
        assert rows[0][0] is rows[1][0]
        assert s.execute(select(User.id, User.name).order_by(User.id)).all() == [
            (1, "ed"), (2, "wendy"), (3, "jack")]
        row = s.execute(select(User.name, Address.email).join_from(User, Address)
                        .where(Address.email == "w@a")).one()
        assert row._mapping["name"] == "wendy" and row.email == "w@a"
        mixed = s.execute(select(User, func.count(Address.id)).outerjoin(Address)
                          .group_by(User.id).order_by(User.id)).all()
        assert [(u.name, n) for u, n in mixed] == [("ed", 2), ("wendy", 1), ("jack", 0)]


def test_where_with_relationship_criteria_exists_subqueries_and_unions(models, engine):
    User, Address, Tag = models
    with Session(engine) as s:
        assert [u.name for u in s.scalars(
            select(User).where(User.addresses.any(Address.email.like("w%"))))] == ["wendy"]
        assert [u.name for u in s.scalars(select(User).where(User.tags.any(Tag.word == "x")))
                ] == ["ed"]
        assert s.scalar(select(exists().where(Address.user_id == User.id)
                               .where(User.name == "jack"))) in (False, 0)
        sub = select(Address.user_id).where(Address.email == "ed@b").scalar_subquery()
        assert [u.id for u in s.scalars(select(User).where(User.id == sub))] == [1]
        u = sa.union(select(User.id).where(User.id == 1), select(User.id).where(User.id == 3))
        assert sorted(r[0] for r in s.execute(u)) == [1, 3]
        cte = select(User.id).where(User.name == "ed").cte("eds")
        assert [x.name for x in s.scalars(select(User).join(cte, cte.c.id == User.id))] == ["ed"]
        assert s.scalar(select(func.count()).select_from(User)) == 3
        assert s.scalar(select(func.count(User.id))) == 3


def test_datamapper_select_joins_along_relationships(models, engine):
    User, Address, Tag = models
    with Session(engine) as s:
        rows = s.execute(datamapper.select(User, Address).join(User.addresses)
                         .order_by(Address.id)).all()
        assert [(u.id, a.email) for u, a in rows] == [(1, "ed@a"), (1, "ed@b"), (2, "w@a")]
        tagged = s.execute(datamapper.select(User.name, Tag.word).join(User.tags)).all()
        assert tagged == [("ed", "x")]
        outer = s.execute(datamapper.select(User.name, Address.email)
                          .outerjoin(Address, User.addresses).order_by(User.id, Address.id)
                          ).all()
        assert outer[-1] == ("jack", None)


def test_insert_update_delete_built_from_classes(models, engine, read_rows):
    User, Address, _Tag = models
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 10, "name": "a"}, {"id": 11, "name": "b"}])
        s.execute(update(User).where(User.id == 10).values(name="aa"))
        s.execute(delete(Address).where(Address.user_id == 2))
        s.commit()
    assert read_rows(User.__table__, id=10) == [(10, "aa")]
    assert read_rows(User.__table__, id=11) == [(11, "b")]
    assert read_rows(Address.__table__, user_id=2) == []


def test_sqlalchemy_inspect_gives_our_mapper_and_instance_state(models, engine):
    User, _Address, _Tag = models
    mapper = sa.inspect(User)
    assert isinstance(mapper, Mapper) and mapper is datamapper.inspect(User)
    assert mapper.class_ is User and "name" in mapper.attrs
    with Session(engine) as s:
        u = s.get(User, 1)
        st = sa.inspect(u)
        assert isinstance(st, InstanceState) and st.persistent and st.session is s

    class NoMetaBase(DeclarativeBaseNoMeta):
        pass

    class Plain(NoMetaBase):
        __tablename__ = "plain"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert datamapper.inspect(Plain).class_ is Plain
    assert isinstance(sa.inspect(Plain()), InstanceState)  # instances are known either way


def test_instances_are_values_to_core_not_clause_elements(models, engine):
    User, Address, _Tag = models
    with Session(engine) as s:
        u = s.get(User, 2)
        assert not hasattr(u, "__clause_element__")
        found = s.scalars(select(Address).where(Address.user == u)).all()
        assert [a.email for a in found] == ["w@a"]


def test_core_filter_by_refuses_names_that_are_not_mapped(models):
    User, _Address, _Tag = models
    for name in ("nope", "__class__", "metadata", "registry"):
        with pytest.raises(InvalidRequestError):
            select(User).filter_by(**{name: 1})


def test_a_class_that_is_not_mapped_gives_cores_error(models):
    class NotMapped:
        pass

    with pytest.raises(sa.exc.ArgumentError):
        select(NotMapped)


def test_core_select_accepts_loader_options(models, engine, sql_log):
    """``sqlalchemy.select(User).options(joinedload(...))``: Core's own options() takes
    datamapper's loader options, and the session applies them (one statement)."""
    User, Address, _Tag = models
    with Session(engine) as s:
        sql_log.clear()
        users = s.scalars(select(User).options(datamapper.joinedload(User.addresses))
                          .order_by(User.id)).unique().all()
        assert sql_log.count == 1
        assert "addresses" in users[0].__dict__
        assert [[a.email for a in u.addresses] for u in users] == [
            ["ed@a", "ed@b"], ["w@a"], []]
        assert sql_log.count == 1
    with Session(engine) as s:
        sql_log.clear()
        a = s.scalars(select(Address).where(Address.email == "w@a")
                      .options(datamapper.joinedload(Address.user))).one()
        assert "user" in a.__dict__ and a.user.name == "wendy"
        assert sql_log.count == 1


def test_sqlalchemy_inspect_of_imperatively_mapped_classes(metadata, engine):
    if tuple(int(x) for x in sa.__version__.split(".")[:2]) < (2, 1):
        # SQLAlchemy 2.0 lets only its own ORM register the entry for plain classes
        # (mapping/coercion.py): datamapper chains to it once it is imported
        import sqlalchemy.orm  # noqa: F401
    table = sa.Table("imp_users", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("name", sa.String(30)))

    class Classic:
        pass

    class Legacy:
        pass

    class NotMapped:
        pass

    datamapper.registry(metadata=metadata).map_imperatively(Classic, table)
    legacy_table = sa.Table("imp_legacy", metadata, sa.Column("id", sa.Integer,
                                                             primary_key=True))
    datamapper.mapper(Legacy, legacy_table)
    mapper = sa.inspect(Classic)
    assert isinstance(mapper, Mapper) and mapper is datamapper.inspect(Classic)
    assert isinstance(sa.inspect(Legacy), Mapper) and sa.inspect(Legacy).class_ is Legacy
    assert sa.inspect(NotMapped, raiseerr=False) is None
    with pytest.raises(sa.exc.NoInspectionAvailable):
        sa.inspect(NotMapped)
    metadata.create_all(engine)
    with Session(engine) as s:
        obj = Classic()
        obj.name = "x"
        s.add(obj)
        st = sa.inspect(obj)
        assert isinstance(st, InstanceState) and st.pending
        s.flush()
        assert sa.inspect(obj).persistent
        assert s.scalars(select(Classic)).one() is obj
