"""unitofwork.dependency with no database: what each relationship direction adds
to a flush (key links, association rows, orphans) and what rows refer to."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from datamapper import (
    Session,
    configure_mappers,
    declarative_base,
    inspect,
    make_transient_to_detached,
    relationship,
)
from datamapper.exc import SAWarning
from datamapper.unitofwork.dependency import collect, references_of


@pytest.fixture
def models():
    Base = declarative_base(metadata=MetaData())
    assoc = Table("user_groups", Base.metadata,
                  Column("user_id", ForeignKey("users.id"), primary_key=True),
                  Column("group_id", ForeignKey("groups.id"), primary_key=True))

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        addresses = relationship("Address", backref="user")
        groups = relationship("Group", secondary=assoc)

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))
        email = Column(String(50))

    class Group(Base):
        __tablename__ = "groups"
        id = Column(Integer, primary_key=True)

    class Audit(Base):  # a foreign key no relationship covers
        __tablename__ = "audits"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"), nullable=False)

    configure_mappers()
    return User, Address, Group, Audit


@pytest.fixture
def session():
    s = Session(autoflush=False)
    yield s
    s.close()


def persistent(session, *objs):
    for obj in objs:
        make_transient_to_detached(obj)
    session.add_all(objs)


def deps_of(session):
    return collect(session, [inspect(o) for o in session.new],
                   [inspect(o) for o in session.dirty], [inspect(o) for o in session.deleted])


def test_references_come_from_relationships_then_table_foreign_keys(models):
    User, Address, _Group, Audit = models
    (ref,) = references_of(inspect(Address))
    assert (ref.src, ref.dest, ref.src_keys, ref.dest_keys, ref.nullable) == (
        inspect(User), inspect(Address), ("id",), ("user_id",), True)
    assert ref.prop is inspect(Address).attrs["user"]
    (ref,) = references_of(inspect(Audit))
    assert (ref.src, ref.dest_keys, ref.nullable, ref.prop) == (
        inspect(User), ("user_id",), False, None)
    assert references_of(inspect(User)) == []  # many-to-many adds no reference


def test_one_to_many_and_many_to_one_link_the_child_to_its_parent(session, models):
    User, Address, _Group, _Audit = models
    a1, a2 = Address(email="a"), Address(email="b")
    u = User(addresses=[a1])
    a2.user = u
    session.add_all([u, a2])
    deps = deps_of(session)
    got = {s.obj().email: [(lk.src, lk.dest_keys) for lk in per.values()]
           for s, per in deps.links.items()}
    assert got == {"a": [(inspect(u), ("user_id",))], "b": [(inspect(u), ("user_id",))]}
    assert deps.extra_saves == [] and deps.orphans == []


def test_a_persistent_child_moved_between_parents_is_saved_with_the_new_key(session, models):
    User, Address, _Group, _Audit = models
    a = Address(id=1, user_id=1)
    u1, u2 = User(id=1, addresses=[a]), User(id=2, addresses=[])
    persistent(session, u1, u2, a)
    u2.addresses.append(a)  # (the backref takes it out of u1's collection)
    deps = deps_of(session)
    (link,) = deps.links[inspect(a)].values()
    assert link.src is inspect(u2)  # the new parent wins over "lost the old one"
    assert link.values() == (2,)


def test_many_to_many_adds_and_removes_association_rows(session, models):
    User, _Address, Group, _Audit = models
    g1, g2 = Group(id=1), Group(id=2)
    u = User(id=1, groups=[g1])
    persistent(session, u, g1, g2)
    u.groups.append(g2)
    u.groups.remove(g1)
    deps = deps_of(session)
    assert [r.params() for r in deps.assoc_insert.values()] == [{"user_id": 1, "group_id": 2}]
    assert [r.params() for r in deps.assoc_delete.values()] == [{"user_id": 1, "group_id": 1}]


def test_a_deleted_parent_unlinks_its_children_and_rows(session, models):
    User, Address, Group, _Audit = models
    a, g = Address(id=1, user_id=1), Group(id=1)
    u = User(id=1, addresses=[a], groups=[g])
    persistent(session, u, a, g)
    session.delete(u)
    deps = deps_of(session)
    (link,) = deps.links[inspect(a)].values()
    assert link.src is None and link.values() == (None,)
    assert deps.extra_saves == [inspect(a)]  # saved for its cleared key
    assert [r.params() for r in deps.assoc_delete.values()] == [{"user_id": 1, "group_id": 1}]


def test_a_child_outside_the_session_is_left_out_with_a_warning(session, models):
    User, Address, _Group, _Audit = models
    stray = Address(email="stray")
    u = User()
    session.add(u)
    u.addresses.append(stray)
    session.expunge(stray)
    with pytest.warns(SAWarning, match=r"Can't link .* along User.addresses in this flush: "
                                       r"it is not in session"):
        deps = deps_of(session)
    assert inspect(stray) not in deps.links
