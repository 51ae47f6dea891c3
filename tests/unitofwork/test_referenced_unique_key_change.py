"""A relationship may refer to a unique column that is not the primary key (users keyed
by ``id``, referred to by ``name``).  When that column changes, the referring rows
must follow it exactly as they follow a changed primary key: the flush UPDATEd the
parent's row only, and the addresses and association rows kept the old name (no row
refers to any more) unless the database cascaded it; the objects in memory kept it
even where the database did.  (Primary-key changes: test_passive_updates_false.py.)"""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy import Integer, String


def _models(orm, prefix, passive, m2o=False):
    """Users with a surrogate key and a unique name; addresses (a one-to-many from the
    user, or with ``m2o`` a many-to-one without reverse) and items (a many-to-many, backref
    ``users``) refer to the name.  No FOREIGN KEY constraints (no database cascade)."""
    md = sa.MetaData()
    users = sa.Table(f"{prefix}users", md,
                     sa.Column("id", Integer, primary_key=True, autoincrement=False),
                     sa.Column("name", String(20), unique=True))
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
    user_props = {"items": orm.relationship(
        Item, secondary=links, passive_updates=passive, backref="users",
        primaryjoin=users.c.name == orm.foreign(links.c.user_name),
        secondaryjoin=items.c.label == orm.foreign(links.c.item_label))}
    address_props = {}
    if m2o:
        address_props["user"] = orm.relationship(
            User, passive_updates=passive,
            primaryjoin=orm.foreign(addresses.c.user_name) == users.c.name)
    else:
        user_props["addresses"] = orm.relationship(
            Address, passive_updates=passive, order_by=addresses.c.email,
            primaryjoin=users.c.name == orm.foreign(addresses.c.user_name))
    reg.map_imperatively(User, users, properties=user_props)
    reg.map_imperatively(Address, addresses, properties=address_props)
    reg.map_imperatively(Item, items)
    return SimpleNamespace(md=md, User=User, Address=Address, Item=Item,
                           Session=orm.Session, tables=(users, addresses, links, items), m2o=m2o)


def _fill(m, s):
    u, ed = m.User(id=1, name="jack"), m.User(id=2, name="ed")
    if m.m2o:
        s.add_all([m.Address(email="a1", user=u), m.Address(email="a2", user=u),
                   m.Address(email="a3", user=ed)])
    else:
        u.addresses = [m.Address(email="a1"), m.Address(email="a2")]
        ed.addresses = [m.Address(email="a3")]
    s.add_all([u, ed])
    u.items = [m.Item(label="i1"), m.Item(label="i2")]
    s.commit()


def _rename_with_all_loaded(m, s):
    u = s.get(m.User, 1)
    u.items  # noqa: B018 (loaded)
    held = s.query(m.Address).all()
    if not m.m2o:
        u.addresses  # noqa: B018 (loaded)
    u.name = "fred"
    s.flush()
    in_memory = sorted((a.email, a.user_name) for a in held)
    s.commit()
    return in_memory


def _rename_nothing_loaded(m, s):
    # the collections are unloaded: loaded by the name the user had
    held = s.query(m.Address).all()
    s.expire_all()
    s.get(m.User, 1).name = "fred"
    s.commit()
    return sorted((a.email, a.user_name) for a in held)


@pytest.mark.parametrize("m2o", [False, True], ids=["one_to_many", "many_to_one"])
@pytest.mark.parametrize("program", [_rename_with_all_loaded, _rename_nothing_loaded],
                         ids=lambda f: f.__name__.strip("_"))
def test_unique_key_change_matches_sqlalchemy(engine, read_rows, program, m2o):
    """passive_updates=False: the flush writes the new name into the referring rows
    (the many-to-one's: those of the referring objects the session holds)."""
    from sqlalchemy import orm as sa_orm

    import datamapper

    models = {name: _models(orm, f"ruk_{name}_", False, m2o)
              for name, orm in (("sa", sa_orm), ("dm", datamapper))}
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
    # (checked on SQLAlchemy's: the rows followed the name)
    assert out["dm"][1][1] == [("a1", "fred"), ("a2", "fred"), ("a3", "ed")]
    assert out["dm"][1][2] == [("fred", "i1"), ("fred", "i2")]


@pytest.mark.parametrize("program", [_rename_with_all_loaded, _rename_nothing_loaded],
                         ids=lambda f: f.__name__.strip("_"))
def test_unique_key_change_without_declared_cascade_moves_rows(engine, read_rows, program):
    """passive_updates=True (the default) but no ON UPDATE CASCADE declared: the flush
    moves the referring rows itself, as it does for a changed primary key."""
    import datamapper

    m = _models(datamapper, "ruk_", True)
    m.md.create_all(engine)
    with m.Session(engine) as s:
        _fill(m, s)
    with m.Session(engine) as s:
        assert program(m, s) == [("a1", "fred"), ("a2", "fred"), ("a3", "ed")]
    users, addresses, links, _items = m.tables
    assert read_rows(users) == [(1, "fred"), (2, "ed")]
    assert read_rows(addresses) == [("a1", "fred"), ("a2", "fred"), ("a3", "ed")]
    assert read_rows(links) == [("fred", "i1"), ("fred", "i2")]


def test_unique_key_change_with_database_cascade_updates_memory(engine, backend_name,
                                                                 read_rows):
    """A FOREIGN KEY ... ON UPDATE CASCADE to the unique column and passive_updates=False:
    the database moved the rows, and the objects in memory hold the new name too."""
    if backend_name == "sqlite":
        pytest.skip("the test's SQLite connections do not cascade through this key")
    import datamapper

    md = sa.MetaData()
    users = sa.Table("rukc_users", md,
                     sa.Column("id", Integer, primary_key=True, autoincrement=False),
                     sa.Column("name", String(20), unique=True))
    addresses = sa.Table("rukc_addresses", md,
                         sa.Column("email", String(20), primary_key=True),
                         sa.Column("user_name", String(20), sa.ForeignKey(
                             "rukc_users.name", onupdate="CASCADE")))

    class User:
        pass

    class Address:
        pass

    reg = datamapper.registry(metadata=md)
    try:
        for passive in (False, True):
            reg.map_imperatively(User, users, properties={"addresses": datamapper.relationship(
                Address, passive_updates=passive, order_by=addresses.c.email)})
            reg.map_imperatively(Address, addresses)
            md.create_all(engine)
            with datamapper.Session(engine) as s:
                u = User()
                u.id, u.name = 1, "jack"
                for email in ("a1", "a2"):
                    a = Address()
                    a.email = email
                    u.addresses.append(a)
                s.add(u)
                s.flush()
                u.name = "ed"
                s.flush()
                assert [a.user_name for a in u.addresses] == ["ed", "ed"], passive
                s.commit()
            assert read_rows(addresses) == [("a1", "ed"), ("a2", "ed")]
            md.drop_all(engine)
            reg.dispose()
    finally:
        reg.dispose()


def test_many_to_many_with_declared_cascade_is_left_to_the_database(engine, read_rows):
    """passive_updates=True (the default) and the association table's foreign keys
    declare ON UPDATE CASCADE: the database moves the rows (SQLite too, with its
    foreign keys enabled as the test engines have them); an UPDATE of the flush would
    look for them by the old key and find none (StaleDataError)."""
    import datamapper

    md = sa.MetaData()
    sa.Table("rukm_users", md, sa.Column("name", String(20), primary_key=True))
    sa.Table("rukm_items", md, sa.Column("id", Integer, primary_key=True,
                                         autoincrement=False))
    links = sa.Table("rukm_links", md,
                     sa.Column("user_name", String(20), sa.ForeignKey(
                         "rukm_users.name", onupdate="CASCADE"), primary_key=True),
                     sa.Column("item_id", Integer, sa.ForeignKey(
                         "rukm_items.id", onupdate="CASCADE"), primary_key=True))
    Base = datamapper.declarative_base(metadata=md)

    class User(Base):
        __table__ = md.tables["rukm_users"]
        items = datamapper.relationship("Item", secondary=links)

    class Item(Base):
        __table__ = md.tables["rukm_items"]

    md.create_all(engine)
    with datamapper.Session(engine) as s:
        s.add(User(name="jack", items=[Item(id=1), Item(id=2)]))
        s.commit()
        u = s.get(User, "jack")
        assert len(u.items) == 2
        u.name = "fred"
        s.commit()
        assert sorted(i.id for i in u.items) == [1, 2]
    assert read_rows(links) == [("fred", 1), ("fred", 2)]
