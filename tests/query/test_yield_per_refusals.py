"""``yield_per`` turns rows into objects a batch at a time, so it can't be combined
with what needs every row first: eager loaders that gather a collection across
rows (a joined or contains_eager collection) or run a second query over all
parents (subqueryload), and ``Result.unique()``.  Those are refused by name
before any object is built; eager loaders that work per batch (many-to-one
joins, selectinload) stay allowed."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, insert, select
from sqlalchemy.exc import InvalidRequestError

from datamapper import (
    DeclarativeBase,
    Mapped,
    Session,
    contains_eager,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
    subqueryload,
)


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Author(Base):
        __tablename__ = "yp_authors"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        books: Mapped[list[Book]] = relationship(back_populates="author")

    class Book(Base):
        __tablename__ = "yp_books"
        id: Mapped[int] = mapped_column(primary_key=True)
        author_id: Mapped[int] = mapped_column(ForeignKey("yp_authors.id"))
        author: Mapped[Author] = relationship(back_populates="books")

    class SubqAuthor(Base):
        __tablename__ = "yp_subq_authors"
        id: Mapped[int] = mapped_column(primary_key=True)
        books: Mapped[list[SubqBook]] = relationship(lazy="subquery")

    class SubqBook(Base):
        __tablename__ = "yp_subq_books"
        id: Mapped[int] = mapped_column(primary_key=True)
        author_id: Mapped[int] = mapped_column(ForeignKey("yp_subq_authors.id"))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(Author), [{"id": i, "name": f"a{i}"} for i in (1, 2, 3)])
        s.execute(insert(Book), [{"id": i, "author_id": 1 + i % 3} for i in range(1, 7)])
        s.execute(insert(SubqAuthor), [{"id": 1}])
        s.commit()
    return Author, Book, SubqAuthor


REFUSED = "Can't use yield_per with eager loaders that require uniquing or row buffering"


def test_query_yield_per_refuses_a_joined_collection(models, engine):
    Author, _, _ = models
    with Session(engine) as s:
        q = s.query(Author).options(joinedload(Author.books)).yield_per(1)
        with pytest.raises(InvalidRequestError, match=REFUSED):
            q.all()
        with pytest.raises(InvalidRequestError, match=REFUSED):
            list(q)
        assert len(s.identity_map) == 0


def test_query_yield_per_refuses_subqueryload_given_or_configured(models, engine):
    Author, _, SubqAuthor = models
    with Session(engine) as s:
        with pytest.raises(InvalidRequestError, match=REFUSED):
            s.query(Author).options(subqueryload(Author.books)).yield_per(2).all()
        with pytest.raises(InvalidRequestError, match=REFUSED):
            s.query(SubqAuthor).yield_per(2).all()
        # with eager loading switched off there is nothing to refuse
        assert len(s.query(SubqAuthor).enable_eagerloads(False).yield_per(2).all()) == 1


def test_query_yield_per_refuses_a_contains_eager_collection(models, engine):
    Author, _, _ = models
    with Session(engine) as s:
        q = s.query(Author).join(Author.books).options(
            contains_eager(Author.books)).yield_per(1)
        with pytest.raises(InvalidRequestError, match=REFUSED):
            q.all()


def test_execute_yield_per_refuses_a_joined_collection(models, engine):
    Author, _, _ = models
    with Session(engine) as s:
        stmt = select(Author).options(joinedload(Author.books)).execution_options(
            yield_per=2)
        with pytest.raises(InvalidRequestError, match=REFUSED):
            s.execute(stmt)
        with pytest.raises(InvalidRequestError, match=REFUSED):
            s.scalars(select(Author).options(subqueryload(Author.books)),
                      execution_options={"yield_per": 2})


def test_yield_per_allows_many_to_one_joins_and_selectinload(models, engine):
    Author, Book, _ = models
    with Session(engine) as s:
        books = s.query(Book).options(joinedload(Book.author)).order_by(Book.id) \
            .yield_per(1).all()
        assert [b.author.id for b in books] == [2, 3, 1, 2, 3, 1]
        authors = s.scalars(select(Author).options(selectinload(Author.books))
                            .order_by(Author.id).execution_options(yield_per=2)).all()
        assert [sorted(b.id for b in a.books) for a in authors] == [[3, 6], [1, 4], [2, 5]]


UNIQUE = r"Can't use the ORM yield_per feature in conjunction with unique\(\)"


@pytest.mark.parametrize("how", ["option", "unique_then_yield_per", "yield_per_then_unique",
                                 "stream_results_option"])
def test_yield_per_with_unique_is_refused_when_rows_are_fetched(models, engine, how):
    Author, _, _ = models
    with Session(engine) as s:
        stmt = select(Author)
        if how == "option":
            result = s.execute(stmt.execution_options(yield_per=10)).unique()
        elif how == "unique_then_yield_per":
            result = s.execute(stmt).unique().yield_per(10)
        elif how == "yield_per_then_unique":
            result = s.execute(stmt).yield_per(10).unique()
        else:
            result = s.execute(stmt.execution_options(stream_results=True)).unique() \
                .yield_per(10)
        with pytest.raises(InvalidRequestError, match=UNIQUE):
            next(result)
        result.close()
        # each alone is fine
        assert len(s.execute(stmt).unique().all()) == 3
        assert len(s.execute(stmt.execution_options(yield_per=1)).all()) == 3
