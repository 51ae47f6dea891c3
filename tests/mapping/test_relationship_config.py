"""relationship() configuration: direction, joins, string targets, backrefs, and the
errors raised at configure time when a join can't be derived."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import (
    backref,
    class_mapper,
    configure_mappers,
    exc,
    inspect,
    mapper,
    registry,
    relation,
    relationship,
)
from datamapper.mapping.relationships import MANYTOMANY, MANYTOONE, ONETOMANY


def test_direction_and_uselist_follow_the_foreign_key(models):
    User, Address = models
    configure_mappers()
    addresses = class_mapper(User).relationships["addresses"]
    user = class_mapper(Address).relationships["user"]
    assert addresses.direction == ONETOMANY and addresses.uselist
    assert user.direction == MANYTOONE and not user.uselist
    assert addresses.mapper is class_mapper(Address)


def test_many_to_many_through_secondary_table_name(Base, engine):
    Table("links", Base.metadata,
          Column("a_id", ForeignKey("a.id"), primary_key=True),
          Column("b_id", ForeignKey("b.id"), primary_key=True))

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", secondary="links", backref="as_")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)

    configure_mappers()
    prop = inspect(A).relationships["bs"]
    assert prop.direction == MANYTOMANY and prop.secondary.name == "links"
    assert inspect(B).relationships["as_"].direction == MANYTOMANY


def test_one_to_one_with_uselist_false_and_backref_kwargs(Base):
    class Person(Base):
        __tablename__ = "person"
        id = Column(Integer, primary_key=True)
        passport = relationship("Passport", uselist=False,
                                backref=backref("owner", cascade="save-update"))

    class Passport(Base):
        __tablename__ = "passport"
        id = Column(Integer, primary_key=True)
        person_id = Column(Integer, ForeignKey("person.id"))

    p = Person()
    pp = Passport()
    p.passport = pp
    assert pp.owner is p
    assert inspect(Passport).relationships["owner"].cascade.save_update
    assert not inspect(Passport).relationships["owner"].cascade.merge


def test_foreign_keys_picks_one_of_several_paths(Base):
    class Addr(Base):
        __tablename__ = "addr"
        id = Column(Integer, primary_key=True)

    class Customer(Base):
        __tablename__ = "customer"
        id = Column(Integer, primary_key=True)
        billing_id = Column(Integer, ForeignKey("addr.id"))
        shipping_id = Column(Integer, ForeignKey("addr.id"))
        billing = relationship("Addr", foreign_keys=[billing_id])
        shipping = relationship("Addr", foreign_keys="Customer.shipping_id")

    configure_mappers()
    rels = inspect(Customer).relationships
    assert rels["billing"].direction == MANYTOONE
    assert [c.name for c, _r in rels["shipping"].local_remote_pairs] == ["shipping_id"]


def test_several_foreign_key_paths_without_foreign_keys_raise_naming_the_fix(Base):
    class Addr2(Base):
        __tablename__ = "addr2"
        id = Column(Integer, primary_key=True)

    class Cust2(Base):
        __tablename__ = "cust2"
        id = Column(Integer, primary_key=True)
        billing_id = Column(Integer, ForeignKey("addr2.id"))
        shipping_id = Column(Integer, ForeignKey("addr2.id"))
        address = relationship("Addr2")

    with pytest.raises(exc.ArgumentError) as info:
        configure_mappers()
    msg = str(info.value)
    assert "Cust2.address" in msg and "foreign_keys=" in msg
    from datamapper import clear_mappers
    clear_mappers()


def test_no_foreign_key_raises_at_configure_naming_relationship(Base):
    class Lone(Base):
        __tablename__ = "lone"
        id = Column(Integer, primary_key=True)

    class Other(Base):
        __tablename__ = "other"
        id = Column(Integer, primary_key=True)
        lones = relationship("Lone")

    with pytest.raises(exc.ArgumentError) as info:
        configure_mappers()
    msg = str(info.value)
    assert "Other.lones" in msg and ("primaryjoin" in msg or "ForeignKey" in msg)
    from datamapper import clear_mappers
    clear_mappers()


def test_unknown_string_target_raises_naming_it(Base):
    class Holder(Base):
        __tablename__ = "holder"
        id = Column(Integer, primary_key=True)
        things = relationship("Nonexistent")

    with pytest.raises(exc.InvalidRequestError) as info:
        configure_mappers()
    assert "Nonexistent" in str(info.value) and "Holder.things" in str(info.value)
    from datamapper import clear_mappers
    clear_mappers()


def test_primaryjoin_string_and_viewonly(Base, engine, make_session):
    class Cust(Base):
        __tablename__ = "cust"
        id = Column(Integer, primary_key=True)
        orders = relationship("Ord", backref="cust")
        big_orders = relationship("Ord", primaryjoin="and_(Cust.id == Ord.cust_id, "
                                  "Ord.total > 100)", viewonly=True, order_by="Ord.id")

    class Ord(Base):
        __tablename__ = "ord"
        id = Column(Integer, primary_key=True)
        cust_id = Column(Integer, ForeignKey("cust.id"))
        total = Column(Integer)

    Base.metadata.create_all(engine)
    s = make_session()
    c = Cust(orders=[Ord(total=50), Ord(total=500), Ord(total=150)])
    s.add(c)
    s.commit()
    assert [o.total for o in c.big_orders] == [500, 150]
    assert inspect(Cust).relationships["big_orders"].viewonly


def test_legacy_mapper_with_relation_and_private(engine):
    from sqlalchemy import MetaData
    meta = MetaData()
    parents = Table("lp", meta, Column("id", Integer, primary_key=True))
    kids = Table("lk", meta, Column("id", Integer, primary_key=True),
                 Column("lp_id", Integer, ForeignKey("lp.id")))

    class LP:
        pass

    class LK:
        pass

    reg = registry(metadata=meta)
    reg.map_imperatively(LK, kids)
    mapper(LP, parents, properties={"kids": relation(LK, private=True)})
    prop = class_mapper(LP).relationships["kids"]
    assert prop.cascade.delete and prop.cascade.delete_orphan
    from datamapper import clear_mappers
    clear_mappers()


def test_set_collection_class(Base, engine, make_session):
    class Bag(Base):
        __tablename__ = "bag"
        id = Column(Integer, primary_key=True)
        items = relationship("BagItem", collection_class=set)

    class BagItem(Base):
        __tablename__ = "bag_item"
        id = Column(Integer, primary_key=True)
        bag_id = Column(Integer, ForeignKey("bag.id"))
        name = Column(String(10))

    Base.metadata.create_all(engine)
    s = make_session()
    b = Bag(items={BagItem(name="x"), BagItem(name="y")})
    assert isinstance(b.items, set)
    s.add(b)
    s.commit()
    s.expire(b)
    assert isinstance(b.items, set) and {i.name for i in b.items} == {"x", "y"}


def test_back_populates_links_two_declared_relationships(Base):
    class Team(Base):
        __tablename__ = "team"
        id = Column(Integer, primary_key=True)
        players = relationship("Player", back_populates="team")

    class Player(Base):
        __tablename__ = "player"
        id = Column(Integer, primary_key=True)
        team_id = Column(Integer, ForeignKey("team.id"))
        team = relationship("Team", back_populates="players")

    t = Team()
    p = Player(team=t)
    assert t.players == [p]
    t.players.remove(p)
    assert p.team is None


def test_cascade_is_assignable_and_the_attribute_follows(Base, engine, session):
    """relationship.cascade can be set before and after configuration: assigning
    delete-orphan afterwards makes removed children get deleted in the flush."""
    from sqlalchemy import select

    class Kid(Base):
        __tablename__ = "ca_kids"
        id = Column(Integer, primary_key=True)
        mom_id = Column(Integer, ForeignKey("ca_moms.id"))

    class Mom(Base):
        __tablename__ = "ca_moms"
        id = Column(Integer, primary_key=True)
        kids = relationship(Kid)

    rel = Mom.kids.property
    assert rel.cascade == {"save-update", "merge"}
    rel.cascade = "save-update, merge, expunge"
    assert rel.cascade == {"save-update", "merge", "expunge"}
    Base.metadata.create_all(engine)
    configure_mappers()
    rel.cascade = "all, delete-orphan"
    assert rel.cascade.delete_orphan
    m = Mom(id=1, kids=[Kid(id=1), Kid(id=2)])
    session.add(m)
    session.commit()
    m.kids.remove(m.kids[0])
    session.commit()
    assert session.execute(select(Kid.__table__.c.id)).scalars().all() == [2]


def test_cascade_options_copy_and_pickle():
    import copy
    import pickle

    from datamapper import CascadeOptions

    opts = CascadeOptions("all, delete-orphan")
    assert copy.deepcopy(opts) == opts
    assert pickle.loads(pickle.dumps(opts)).delete_orphan
    assert CascadeOptions(["save-update", "merge"]) == {"save-update", "merge"}


def test_passive_deletes_all_with_delete_cascade_is_refused(Base):
    from datamapper import clear_mappers

    class Kid(Base):
        __tablename__ = "pd_kids"
        id = Column(Integer, primary_key=True)
        mom_id = Column(Integer, ForeignKey("pd_moms.id"))

    class Mom(Base):
        __tablename__ = "pd_moms"
        id = Column(Integer, primary_key=True)
        kids = relationship(Kid, passive_deletes="all", cascade="all, delete-orphan")

    try:
        with pytest.raises(exc.ArgumentError, match="passive_deletes='all'"):
            configure_mappers()
    finally:
        clear_mappers()
