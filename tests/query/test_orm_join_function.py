"""datamapper.join()/outerjoin(): JOINs of mapped classes along relationship
attributes (through the secondary table for a many-to-many, to aliases with
of_type()); aliased() of such a join; any()/has() EXISTS subqueries correlate to the
parent's table only.  Checked by the SQL and the rows."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, select
from sqlalchemy.exc import ArgumentError

from datamapper import aliased, join, outerjoin, relationship


@pytest.fixture
def M(Base, engine, make_session):
    shelf_books = Table("oj_shelf_books", Base.metadata,
                        Column("shelf_id", ForeignKey("oj_shelves.id"), primary_key=True),
                        Column("book_id", ForeignKey("oj_books.id"), primary_key=True))

    class Reader(Base):
        __tablename__ = "oj_readers"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        shelves = relationship("Shelf", order_by="Shelf.id")

    class Shelf(Base):
        __tablename__ = "oj_shelves"
        id = Column(Integer, primary_key=True)
        reader_id = Column(ForeignKey("oj_readers.id"))
        books = relationship("Book", secondary=shelf_books, order_by="Book.id")

    class Book(Base):
        __tablename__ = "oj_books"
        id = Column(Integer, primary_key=True)
        title = Column(String(30))

    Base.metadata.create_all(engine)
    s = make_session()
    b1, b2 = Book(id=1, title="dune"), Book(id=2, title="emma")
    s.add_all([Reader(id=1, name="ann", shelves=[Shelf(id=1, books=[b1, b2])]),
               Reader(id=2, name="bob", shelves=[Shelf(id=2, books=[b2])]),
               Reader(id=3, name="cy")])
    s.commit()
    s.close()
    return Reader, Shelf, Book


def test_join_along_one_to_many(M, session):
    Reader, Shelf, _Book = M
    j = join(Reader, Shelf, Reader.shelves)
    assert str(j) == "oj_readers JOIN oj_shelves ON oj_readers.id = oj_shelves.reader_id"
    names = session.scalars(select(Reader.name).select_from(j).order_by(Reader.id)).all()
    assert names == ["ann", "bob"]


def test_outerjoin_along_many_to_many_goes_through_the_secondary(M, session):
    _Reader, Shelf, Book = M
    j = outerjoin(Shelf, Book, Shelf.books)
    assert "LEFT OUTER JOIN oj_shelf_books" in str(j)
    rows = session.execute(select(Shelf.id, Book.title).select_from(j)
                           .order_by(Shelf.id, Book.id)).all()
    assert [tuple(r) for r in rows] == [(1, "dune"), (1, "emma"), (2, "emma")]


def test_join_to_an_alias_with_of_type(M, session):
    Reader, Shelf, _Book = M
    sa = aliased(Shelf)
    j = join(Reader, sa, Reader.shelves.of_type(sa))
    assert "oj_shelves AS oj_shelves_1 ON oj_readers.id = oj_shelves_1.reader_id" in str(j)
    assert session.scalars(select(Reader.id).select_from(j).where(sa.id == 2)).all() == [2]


def test_join_without_onclause_follows_the_foreign_key(M):
    Reader, Shelf, _Book = M
    assert str(join(Reader, Shelf)) == str(join(Reader, Shelf, Reader.shelves))


def test_aliased_join_is_a_labelled_subquery(M, session):
    Reader, Shelf, _Book = M
    a = aliased(join(Reader, Shelf, Reader.shelves))
    sql = str(select(a))
    assert "oj_readers.id AS oj_readers_id" in sql and ") AS anon_1" in sql
    with pytest.raises(ArgumentError, match="adapt_on_names only applies to ORM elements"):
        aliased(join(Reader, Shelf), adapt_on_names=True)


def test_string_onclause_is_refused(M):
    Reader, Shelf, _Book = M
    with pytest.raises(ArgumentError, match="not a string"):
        join(Reader, Shelf, "shelves")


def test_any_exists_correlates_the_parent_only(M, session):
    _Reader, Shelf, Book = M
    q = session.query(Shelf).join(Shelf.books).filter(Shelf.books.any(Book.title == "dune"))
    sql = str(q)
    exists_part = sql[sql.index("EXISTS"):]
    assert "FROM oj_books, oj_shelf_books" in exists_part
    assert [s.id for s in q.distinct()] == [1]


def test_join_result_joins_on_along_a_relationship_again(M, session):
    Reader, Shelf, Book = M
    sa_ = aliased(Shelf)
    j = join(Reader, sa_, Reader.shelves).join(Book, sa_.books)
    rows = session.execute(select(Reader.name, Book.title).select_from(j)
                           .order_by(Reader.id, Book.id)).all()
    assert rows == [("ann", "dune"), ("ann", "emma"), ("bob", "emma")]
    j = outerjoin(Reader, Shelf, Reader.shelves).outerjoin(Book, Shelf.books)
    rows = session.execute(select(Reader.name, Book.title).select_from(j)
                           .order_by(Reader.id, Book.id)).all()
    assert rows == [("ann", "dune"), ("ann", "emma"), ("bob", "emma"), ("cy", None)]


@pytest.fixture
def Node(Base, engine, make_session):
    class Node(Base):
        __tablename__ = "oj_nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("oj_nodes.id"))
        data = Column(String(30))
        children = relationship("Node", back_populates="parent")
        parent = relationship("Node", back_populates="children", remote_side=[id])

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Node(id=1, data="n1", children=[
        Node(id=2, data="n11"),
        Node(id=3, data="n12", children=[Node(id=4, data="n121"), Node(id=5, data="n122")])]))
    s.commit()
    s.close()
    return Node


def test_relationship_of_an_alias_the_left_side_does_not_read(Node, session):
    # join(Node, n1, n1.children) reads the relationship from the left side, as
    # SQLAlchemy does (it joined the alias to itself: ON nodes_1.id = nodes_1.parent_id,
    # no rows)
    n1 = aliased(Node)
    j = join(Node, n1, n1.children)
    assert str(j) == "oj_nodes JOIN oj_nodes AS oj_nodes_1 ON oj_nodes.id = oj_nodes_1.parent_id"
    q = session.query(Node).select_from(j).filter(n1.data == "n122")
    assert [n.data for n in q] == ["n12"]
    q = session.query(Node).select_from(join(Node, n1, n1.parent)).filter(n1.data == "n12")
    assert sorted(n.data for n in q) == ["n121", "n122"]
    # an alias reading its own relationship is left alone
    n2 = aliased(Node)
    j = join(n1, n2, n1.children)
    stmt = select(n1.data).select_from(j).where(n2.data == "n121")
    assert session.execute(stmt).all() == [("n12",)]
    j = join(join(Node, n1, Node.children), n2, n1.children)
    stmt = select(Node.data).select_from(j).where(n2.data == "n122")
    assert session.execute(stmt).all() == [("n1",)]
