"""The ``refresh-expire`` cascade: ``expire(obj)`` and ``refresh(obj)`` expire the objects
reached through loaded relationships whose cascade includes it (``all`` does), without
loading anything; ``refresh()`` loads ``lazy="joined"`` relationships in its one SELECT."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, text

from datamapper import inspect, relationship


@pytest.fixture
def model(Base, engine, make_session):
    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        children = relationship("Child", cascade="all", order_by="Child.id",
                                back_populates="parent")
        plain = relationship("Child", order_by="Child.id", viewonly=True)

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        parent_id = Column(Integer, ForeignKey("parents.id"))
        parent = relationship(Parent, back_populates="children",
                              cascade="save-update, refresh-expire")
        toys = relationship("Toy", cascade="all, delete-orphan", order_by="Toy.id")

    class Toy(Base):
        __tablename__ = "toys"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        child_id = Column(Integer, ForeignKey("children.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Parent(id=1, name="p", children=[
        Child(id=1, name="a", toys=[Toy(id=1, name="ball")]), Child(id=2, name="b")]))
    s.commit()
    s.close()
    return Parent, Child, Toy


def _behind(s, sql):
    """Change a row in the session's own transaction, without the session's objects
    knowing."""
    s.execute(text(sql))


def _expired(obj, key="name"):
    return key in inspect(obj).expired_attributes and key not in obj.__dict__


def test_expire_cascades_to_loaded_children_and_grandchildren(model, make_session, engine,
                                                              sql_log):
    Parent, _Child, _Toy = model
    s = make_session()
    p = s.get(Parent, 1)
    a, b = p.children
    toy = a.toys[0]
    b.name = "unflushed"
    _behind(s, "UPDATE children SET name = 'a2' WHERE id = 1")
    _behind(s, "UPDATE toys SET name = 'ball2' WHERE id = 1")
    sql_log.clear()
    s.expire(p)
    assert sql_log.count == 0  # expiring loads nothing
    assert _expired(a) and _expired(b) and _expired(toy)
    assert b not in s.dirty  # its unflushed change was discarded
    assert (a.name, b.name, toy.name) == ("a2", "b", "ball2")


def test_expire_follows_only_loaded_relationships_and_loads_nothing(model, make_session,
                                                                    sql_log):
    Parent, Child, _Toy = model
    s = make_session()
    p = s.get(Parent, 1)
    a = s.get(Child, 1)  # in the session, but p.children was never loaded
    assert a.name == "a"
    sql_log.clear()
    s.expire(p)
    assert sql_log.count == 0
    assert not _expired(a)
    assert "children" not in p.__dict__


def test_expire_does_not_cascade_without_refresh_expire(model, make_session):
    Parent, _Child, _Toy = model
    s = make_session()
    p = s.get(Parent, 1)
    kids = list(p.plain)  # viewonly relationship, cascade "merge" only
    s.expire(p, ["children"])  # attribute names given: no cascade either
    s.expire(p)
    assert not any(_expired(k) for k in kids)


def test_expire_cascades_along_a_many_to_one_with_refresh_expire(model, make_session, engine):
    Parent, Child, _Toy = model
    s = make_session()
    a = s.get(Child, 1)
    p = a.parent
    assert p.name == "p"
    _behind(s, "UPDATE parents SET name = 'p2' WHERE id = 1")
    s.expire(a)
    assert _expired(p)
    assert p.name == "p2"


def test_refresh_expires_related_objects_along_the_cascade(model, make_session, engine):
    Parent, _Child, _Toy = model
    s = make_session()
    p = s.get(Parent, 1)
    a, b = p.children
    toy = a.toys[0]
    b.name = "unflushed"
    _behind(s, "UPDATE children SET name = 'a2' WHERE id = 1")
    s.refresh(p)
    assert _expired(a) and _expired(b) and _expired(toy)
    assert [c.name for c in p.children] == ["a2", "b"]
    assert b not in s.dirty


def test_refresh_with_attribute_names_does_not_cascade(model, make_session):
    Parent, _Child, _Toy = model
    s = make_session()
    p = s.get(Parent, 1)
    a, _b = p.children
    a.name  # noqa: B018
    s.refresh(p, ["name"])
    assert not _expired(a)


@pytest.fixture
def joined_model(Base, engine, make_session):
    class Author(Base):
        __tablename__ = "authors"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        books = relationship("Book", lazy="joined", cascade="all", order_by="Book.id")

    class Book(Base):
        __tablename__ = "books"
        id = Column(Integer, primary_key=True)
        title = Column(String(30))
        author_id = Column(Integer, ForeignKey("authors.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Author(id=1, name="x", books=[Book(id=1, title="t1"), Book(id=2, title="t2")]))
    s.commit()
    s.close()
    return Author, Book


def test_refresh_loads_joined_relationships_in_one_select(joined_model, make_session, engine,
                                                          sql_log):
    Author, Book = joined_model
    s = make_session()
    author = s.get(Author, 1)
    t1 = author.books[0]
    author.name = "unflushed"
    _behind(s, "UPDATE books SET title = 't1b' WHERE id = 1")
    _behind(s, "INSERT INTO books (id, title, author_id) VALUES (3, 't3', 1)")
    _behind(s, "UPDATE authors SET name = 'y' WHERE id = 1")
    sql_log.clear()
    s.refresh(author)
    assert sql_log.count == 1
    assert "JOIN" in sql_log.statements[0].upper()
    assert author.name == "y"
    assert [b.title for b in author.books] == ["t1b", "t2", "t3"]
    assert author.books[0] is t1
    assert sql_log.count == 1
    assert author not in s.dirty


def test_refresh_of_a_deleted_row_with_joined_relationships_raises(joined_model, make_session,
                                                                   engine):
    from datamapper import exc

    Author, _Book = joined_model
    s = make_session()
    author = s.get(Author, 1)
    _behind(s, "DELETE FROM books")
    _behind(s, "DELETE FROM authors")
    with pytest.raises(exc.InvalidRequestError, match="no longer in the database"):
        s.refresh(author)
