"""passive_updates=False: when a parent's primary key changes, the flush writes the new
key into the foreign keys of its members itself (for databases without ON UPDATE
CASCADE), loading the collection by the key the parent had if it was not loaded."""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String

from datamapper import relationship


@pytest.fixture
def models(Base, engine):
    # no FOREIGN KEY constraint: the database does not cascade, the flush must
    class User(Base):
        __tablename__ = "pu_users"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20))
        addresses = relationship(
            "Address", primaryjoin="User.id == foreign(Address.user_id)",
            passive_updates=False, backref="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "pu_addresses"
        id = Column(Integer, primary_key=True, autoincrement=False)
        user_id = Column(Integer)

    Base.metadata.create_all(engine)
    return User, Address


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "unloaded"])
def test_new_parent_key_goes_into_the_members(models, session, read_rows, loaded):
    User, Address = models
    session.add(User(id=1, name="u", addresses=[Address(id=1), Address(id=2)]))
    session.add(Address(id=3, user_id=9))
    session.commit()
    u = session.get(User, 1)
    if loaded:
        assert len(u.addresses) == 2
    u.id = 2
    session.commit()
    assert [r[:2] for r in read_rows(User.__table__)] == [(2, "u")]
    assert read_rows(Address.__table__) == [(1, 2), (2, 2), (3, 9)]
    assert [a.id for a in u.addresses] == [1, 2]


# -- many-to-one and many-to-many: compared with SQLAlchemy's ORM -------------------
def _natural_models(orm, prefix):
    """Users keyed by name, their addresses (a many-to-one to the user, no reverse
    collection) and items (a many-to-many with backref ``users``), all
    passive_updates=False; tables without FOREIGN KEY constraints (no database
    cascade), mapped by ``orm`` (sqlalchemy.orm or datamapper)."""
    import sqlalchemy as sa

    md = sa.MetaData()
    users = sa.Table(f"{prefix}users", md, sa.Column("name", String(20), primary_key=True),
                     sa.Column("note", String(20)))
    addresses = sa.Table(f"{prefix}addresses", md,
                         sa.Column("email", String(20), primary_key=True),
                         sa.Column("user_name", String(20)))
    items = sa.Table(f"{prefix}items", md, sa.Column("label", String(20), primary_key=True))
    links = sa.Table(f"{prefix}user_items", md,
                     sa.Column("user_name", String(20), primary_key=True),
                     sa.Column("item_label", String(20), primary_key=True))

    class Plain:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    class User(Plain):
        pass

    class Address(Plain):
        pass

    class Item(Plain):
        pass

    reg = orm.registry(metadata=md)
    reg.map_imperatively(User, users, properties={"items": orm.relationship(
        Item, secondary=links, passive_updates=False, backref="users",
        primaryjoin=users.c.name == orm.foreign(links.c.user_name),
        secondaryjoin=items.c.label == orm.foreign(links.c.item_label))})
    reg.map_imperatively(Address, addresses, properties={"user": orm.relationship(
        User, passive_updates=False,
        primaryjoin=orm.foreign(addresses.c.user_name) == users.c.name)})
    reg.map_imperatively(Item, items)
    return SimpleNamespace(md=md, User=User, Address=Address, Item=Item,
                           Session=orm.Session, tables=(users, addresses, links, items))


def _fill(m, s):
    u = m.User(name="jack")
    s.add_all([m.Address(email="a1", user=u), m.Address(email="a2", user=u),
               m.Address(email="a3", user=m.User(name="ed"))])
    u.items = [m.Item(label="i1"), m.Item(label="i2")]
    s.commit()


def _rename_user_with_all_loaded(m, s):
    u = s.get(m.User, "jack")
    u.items  # noqa: B018 (loaded)
    held = s.query(m.Address).all()
    u.name = "fred"
    s.commit()
    return sorted((a.email, a.user_name) for a in held)


def _rename_user_nothing_loaded(m, s):
    # the addresses are in the session, their references unloaded and expired; the
    # collection is unloaded: loaded by the old key
    held = s.query(m.Address).all()
    s.expire_all()
    s.get(m.User, "jack").name = "fred"
    s.commit()
    return sorted((a.email, a.user_name) for a in held)


def _rename_user_addresses_not_in_session(m, s):
    # only the addresses the session holds take the new key (as in SQLAlchemy)
    a1 = s.get(m.Address, "a1")
    s.get(m.User, "jack").name = "fred"
    s.commit()
    return a1.user_name


def _rename_item_through_backref(m, s):
    # the backref takes passive_updates=False from User.items
    s.get(m.Item, "i1").label = "i9"
    s.commit()


@pytest.mark.parametrize("program", [
    _rename_user_with_all_loaded, _rename_user_nothing_loaded,
    _rename_user_addresses_not_in_session, _rename_item_through_backref,
], ids=lambda f: f.__name__.strip("_"))
def test_natural_key_change_matches_sqlalchemy(engine, read_rows, program):
    from sqlalchemy import orm as sa_orm

    import datamapper

    models = {name: _natural_models(orm, f"npk_{name}_") for name, orm in (("sa", sa_orm),
                                                                          ("dm", datamapper))}
    # both sides' tables in one create_all: the servers keep them for the next program
    both = sa.MetaData()
    for m in models.values():
        for table in m.md.sorted_tables:
            table.to_metadata(both)
    both.create_all(engine)
    out = {}
    for name, m in models.items():
        with m.Session(engine) as s:
            _fill(m, s)
        with m.Session(engine) as s:
            result = program(m, s)
        out[name] = (result, [read_rows(t) for t in m.tables])
    assert out["dm"] == out["sa"]
    # the association rows and addresses follow the key (checked on SQLAlchemy's)
    assert out["dm"][1][2] != [("jack", "i1"), ("jack", "i2")] or \
        program is _rename_item_through_backref


def test_both_ends_of_an_association_row_renamed_in_one_flush(engine, read_rows):
    # one UPDATE of the row, from both old keys to both new ones (SQLAlchemy sends one
    # per end and fails: StaleDataError)
    import datamapper

    m = _natural_models(datamapper, "npk_")
    m.md.create_all(engine)
    with m.Session(engine) as s:
        _fill(m, s)
    with m.Session(engine) as s:
        u, i = s.get(m.User, "jack"), s.get(m.Item, "i2")
        u.name, i.label = "fred", "i9"
        s.commit()
        assert sorted(x.label for x in u.items) == ["i1", "i9"]
    assert read_rows(m.tables[2]) == [("fred", "i1"), ("fred", "i9")]
