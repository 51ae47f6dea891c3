"""Deleting an association row in the flush that changes the key of one of its ends.

A many-to-many member taken out (or an end deleted) while one end's natural
primary key changes in the same flush: the DELETE of its association row runs
after the ends' UPDATEs, and used to look for the row by the ends' new keys.
Where the database does not move the row (no ON UPDATE CASCADE declared: the
flush moves only the rows it keeps) the row still holds the old key, so the
DELETE matched nothing and the flush failed with StaleDataError.  Where the
constraint declares ON UPDATE CASCADE the database has given the row the new key
by then, and the DELETE must look for that.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, String, Table

from datamapper import backref, declarative_base, foreign, relationship
from datamapper.session import Session


def _models(metadata, engine, *, cascade: bool, passive_updates: bool):
    Base = declarative_base(metadata=metadata)
    if cascade:
        link = Table(
            "akc_link", metadata,
            Column("u", String(10), ForeignKey("akc_users.id", onupdate="CASCADE"),
                   primary_key=True),
            Column("i", String(10), ForeignKey("akc_items.id", onupdate="CASCADE"),
                   primary_key=True))
        joins: dict = {}
    else:
        # no FOREIGN KEY constraint: the database moves nothing, the flush must
        link = Table("akc_link", metadata,
                     Column("u", String(10), primary_key=True),
                     Column("i", String(10), primary_key=True))
        joins = {"primaryjoin": lambda: User.id == foreign(link.c.u),
                 "secondaryjoin": lambda: Item.id == foreign(link.c.i)}

    class User(Base):
        __tablename__ = "akc_users"
        id = Column(String(10), primary_key=True)
        items = relationship("Item", secondary=link, passive_updates=passive_updates,
                             backref=backref("users", passive_updates=passive_updates),
                             **joins)

    class Item(Base):
        __tablename__ = "akc_items"
        id = Column(String(10), primary_key=True)

    metadata.create_all(engine)
    return User, Item, link


SETUPS = [
    pytest.param((False, True), id="no-constraint-passive"),
    pytest.param((False, False), id="no-constraint-nonpassive"),
    pytest.param((True, True), id="on-update-cascade"),
]


@pytest.fixture
def filled(request, metadata, engine):
    cascade, passive = request.param
    User, Item, link = _models(metadata, engine, cascade=cascade, passive_updates=passive)
    s = Session(engine)
    s.add(User(id="u", items=[Item(id="a"), Item(id="b")]))
    s.commit()
    return s, User, Item, link


@pytest.mark.parametrize("filled", SETUPS, indirect=True)
@pytest.mark.parametrize("side", ["parent", "member"])
def test_member_removed_while_parent_key_changes(filled, read_rows, side):
    s, User, Item, link = filled
    u, a = s.get(User, "u"), s.get(Item, "a")
    if side == "parent":
        u.items.remove(a)
    else:
        a.users.remove(u)
    u.id = "v"
    s.commit()
    assert read_rows("SELECT u, i FROM akc_link ORDER BY i") == [("v", "b")]


@pytest.mark.parametrize("filled", SETUPS, indirect=True)
def test_member_removed_while_its_own_key_changes(filled, read_rows):
    s, User, Item, link = filled
    u, a = s.get(User, "u"), s.get(Item, "a")
    u.items.remove(a)
    a.id = "z"
    s.commit()
    assert read_rows("SELECT u, i FROM akc_link ORDER BY i") == [("u", "b")]
    assert read_rows(Item.__table__) == [("b",), ("z",)]


@pytest.mark.parametrize("filled", SETUPS, indirect=True)
def test_parent_deleted_while_a_member_key_changes(filled, read_rows):
    s, User, Item, link = filled
    u, a = s.get(User, "u"), s.get(Item, "a")
    assert len(u.items) == 2
    a.id = "z"
    s.delete(u)
    s.commit()
    assert read_rows("SELECT u, i FROM akc_link") == []
    assert read_rows(Item.__table__) == [("b",), ("z",)]


@pytest.mark.parametrize("filled", SETUPS, indirect=True)
def test_member_deleted_while_parent_key_changes(filled, read_rows):
    s, User, Item, link = filled
    u, a = s.get(User, "u"), s.get(Item, "a")
    assert len(a.users) == 1
    s.delete(a)
    u.id = "v"
    s.commit()
    assert read_rows("SELECT u, i FROM akc_link") == [("v", "b")]
