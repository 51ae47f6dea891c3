"""Attribute events of mapped classes as SQLAlchemy documents them: ``append`` (target,
value, initiator; retval=True replaces the item), ``remove``, ``init_scalar`` (target,
value, dict_: what an unset attribute of a new object reads), listened on the class
attribute or on the MapperProperty (``mapper.column_attrs``), through datamapper.event
and sqlalchemy.event.  (Append listeners were called with the item twice, a TypeError,
and init_scalar was accepted and never fired: SQLAlchemy's generic_fk.py and
active_column_defaults.py examples.)"""

import pytest
import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import configure_mappers, event, inspect, relationship


@pytest.fixture
def M(Base, engine):
    class Box(Base):
        __tablename__ = "ae_box"
        id = Column(Integer, primary_key=True)
        size = Column(Integer)
        label = Column(String(20))
        items = relationship("Item", order_by="Item.id")
        dyn = relationship("Item", lazy="dynamic", viewonly=False, overlaps="items")

    class Item(Base):
        __tablename__ = "ae_item"
        id = Column(Integer, primary_key=True)
        box_id = Column(Integer, ForeignKey("ae_box.id"))
        kind = Column(String(20))

    Base.metadata.create_all(engine)
    return Box, Item


@pytest.mark.parametrize("listen", [event.listen, sqlalchemy.event.listen],
                         ids=["datamapper", "sqlalchemy"])
def test_append_and_remove_listeners_get_target_value_initiator(M, make_session, engine,
                                                                listen):
    Box, Item = M
    seen = []

    def on_append(target, value, initiator):
        seen.append(("append", target, value))
        value.kind = "tagged"

    def on_remove(target, value, initiator):
        seen.append(("remove", target, value))

    listen(Box.items, "append", on_append)
    listen(Box.items, "remove", on_remove)
    b, i1, i2 = Box(id=1), Item(id=1), Item(id=2)
    b.items.append(i1)
    b2 = Box(id=2, items=[i2])  # the constructor's collection too
    b.items.remove(i1)
    assert seen == [("append", b, i1), ("append", b2, i2), ("remove", b, i1)]
    s = make_session()
    s.add_all([b, b2])
    s.commit()
    with engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT id, box_id, kind FROM ae_item")).all()
    assert [tuple(r) for r in rows] == [(2, 2, "tagged")]


def test_append_listener_with_retval_replaces_the_item(M):
    Box, Item = M
    swapped = Item(id=9)
    event.listen(Box.items, "append", lambda t, v, i: swapped, retval=True)
    b = Box()
    b.items.append(Item(id=1))
    assert b.items == [swapped]


def test_append_listener_on_a_dynamic_relationship(M, make_session):
    Box, Item = M
    seen = []
    event.listen(Box.dyn, "append", lambda t, v, i: seen.append(v))
    s = make_session()
    b = Box(id=1)
    s.add(b)
    s.flush()
    it = Item(id=1)
    b.dyn.append(it)
    assert seen == [it]


@pytest.mark.parametrize("on_property", [False, True], ids=["attribute", "mapper_property"])
def test_init_scalar_gives_a_new_objects_unset_attribute(M, make_session, engine,
                                                          on_property):
    Box, Item = M
    target = inspect(Box).column_attrs["size"] if on_property else Box.size

    @event.listens_for(target, "init_scalar", retval=True)
    def default_size(obj, value, dict_):
        dict_["size"] = 10  # stored: the INSERT writes it
        return 10

    b = Box(id=1)
    assert b.size == 10
    assert Box(id=2, size=3).size == 3  # given: no event
    s = make_session()
    s.add(b)
    s.commit()
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT size FROM ae_box")).scalar() == 10
    # a loaded object's value is its row's: no event
    s.expire_all()
    assert s.get(Box, 1).size == 10


@pytest.fixture
def BR(Base, engine):
    class Shelf(Base):
        __tablename__ = "ae_shelf"
        id = Column(Integer, primary_key=True)
        books = relationship("Book", backref="shelf", order_by="Book.id")

    class Book(Base):
        __tablename__ = "ae_book"
        id = Column(Integer, primary_key=True)
        shelf_id = Column(Integer, ForeignKey("ae_shelf.id"))

    Base.metadata.create_all(engine)
    configure_mappers()  # (makes the backref attribute Book.shelf)
    return Shelf, Book


def _record(seen, *attrs):
    for attr in attrs:
        key = attr.key
        event.listen(attr, "append", lambda t, v, i, k=key: seen.append(("append", k, t, v)))
        event.listen(attr, "remove", lambda t, v, i, k=key: seen.append(("remove", k, t, v)))
        event.listen(attr, "set",
                     lambda t, v, o, i, k=key: seen.append(("set", k, t, v)))


def test_a_backref_change_fires_the_other_sides_listeners(BR):
    """SQLAlchemy's custom_attributes/listen_for_events.py: setting book.shelf fires
    'append' on shelf.books, appending to shelf.books fires 'set' on book.shelf."""
    Shelf, Book = BR
    seen = []
    _record(seen, Shelf.books, Book.shelf)
    s1, s2, b1, b2 = Shelf(id=1), Shelf(id=2), Book(id=1), Book(id=2)
    b1.shelf = s1
    assert seen == [("set", "shelf", b1, s1), ("append", "books", s1, b1)]
    seen.clear()
    s1.books.append(b2)
    assert seen == [("append", "books", s1, b2), ("set", "shelf", b2, s1)]
    seen.clear()
    s1.books.remove(b2)
    assert seen == [("remove", "books", s1, b2), ("set", "shelf", b2, None)]
    seen.clear()
    b1.shelf = s2  # moves: leaves s1.books, joins s2.books
    assert ("remove", "books", s1, b1) in seen and ("append", "books", s2, b1) in seen


def test_backref_events_on_an_unloaded_collection(BR, make_session):
    Shelf, Book = BR
    s = make_session()
    s.add_all([Shelf(id=1), Book(id=1), Book(id=2)])
    s.commit()
    seen = []
    _record(seen, Shelf.books)
    shelf, b1 = s.get(Shelf, 1), s.get(Book, 1)
    b1.shelf = shelf  # shelf.books not loaded: the change is queued, the event fires
    assert seen == [("append", "books", shelf, b1)]
    s.commit()
    assert [b.id for b in shelf.books] == [1]
