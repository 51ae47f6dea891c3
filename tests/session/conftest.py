"""Fixtures shared by the session tests (``Base`` and ``User`` are in
tests/conftest.py): more models, and authors filled in."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import relationship


@pytest.fixture
def parent_child_models(Base, engine):
    """Parent 1-* Child with backref ``Child.parent`` and cascade all, delete-orphan."""
    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        children = relationship("Child", backref="parent", cascade="all, delete-orphan",
                                order_by="Child.id")

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        code = Column(String(20))
        parent_id = Column(Integer, ForeignKey("parents.id"))

    Base.metadata.create_all(engine)
    return Parent, Child


@pytest.fixture
def author_models(Base, engine):
    """Author 1-* Book 1-* Page, lazy relationships ordered by id."""
    class Author(Base):
        __tablename__ = "authors"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        books = relationship("Book", order_by="Book.id")

    class Book(Base):
        __tablename__ = "books"
        id = Column(Integer, primary_key=True)
        author_id = Column(Integer, ForeignKey("authors.id"))
        title = Column(String(50))
        pages = relationship("Page", order_by="Page.id")

    class Page(Base):
        __tablename__ = "pages"
        id = Column(Integer, primary_key=True)
        book_id = Column(Integer, ForeignKey("books.id"))
        text = Column(String(50))

    Base.metadata.create_all(engine)
    return Author, Book, Page


@pytest.fixture
def authors_filled(author_models, make_session):
    Author, Book, Page = author_models
    s = make_session()
    s.add_all([
        Author(id=1, name="a1", books=[Book(id=1, title="b1", pages=[Page(id=1, text="p1")]),
                                       Book(id=2, title="b2")]),
        Author(id=2, name="a2", books=[Book(id=3, title="b3")]),
    ])
    s.commit()
    s.close()
    return author_models
