"""Results of ORM statements run by ``Session.execute()``: Core's ``Result`` helpers
work on them, and ``yield_per`` streams (rows are fetched and turned into objects
a batch at a time)."""

from __future__ import annotations

import sqlite3
import warnings

import pytest
from sqlalchemy import String, event, insert, select, text

from datamapper import Bundle, DeclarativeBase, Mapped, Session, mapped_column


@pytest.fixture
def User(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "res_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(User), [{"id": i, "name": f"u{i}"} for i in range(1, 51)])
        s.commit()
    return User


def test_result_helpers_on_orm_selects(User, engine):
    with Session(engine) as s:
        stmt = select(User).where(User.id <= 3).order_by(User.id)
        users = s.scalars(stmt).all()
        assert [u.id for u in users] == [1, 2, 3]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Result.tuples() is deprecated in 2.1
            assert [t[0] for t in s.execute(stmt).tuples().all()] == users
        maps = s.execute(select(User, User.name).where(User.id <= 2).order_by(User.id)
                         ).mappings().all()
        assert [(m["User"], m["name"]) for m in maps] == [(users[0], "u1"), (users[1], "u2")]
        doubled = select(User).where(User.id <= 3).union_all(
            select(User).where(User.id <= 3)).subquery()
        assert len(s.execute(select(User).where(User.id <= 3)).unique().all()) == 3
        assert s.execute(stmt).unique().scalars().all() == users
        assert doubled is not None
        assert [len(p) for p in s.execute(stmt).partitions(2)] == [2, 1]
        assert [len(p) for p in s.execute(stmt).scalars().partitions(2)] == [2, 1]
        assert s.execute(stmt.where(User.id == 1)).one_or_none()[0] is users[0]
        assert s.execute(stmt.where(User.id == 99)).one_or_none() is None
        assert s.execute(stmt).first()[0] is users[0]
        assert s.execute(stmt).first().User is users[0]
        assert s.scalars(stmt).first() is users[0]
        row = s.execute(select(User.id, User.name).where(User.id == 2)).one()
        assert row._mapping["name"] == "u2" and row._asdict() == {"id": 2, "name": "u2"}
        assert s.execute(select(User.id, User.name).where(User.id == 2)).mappings().one() == \
            {"id": 2, "name": "u2"}


def _streamed_ids(s, User, n):
    return [u.id for u in s.scalars(select(User).order_by(User.id)
                                     .execution_options(yield_per=n))]


def test_yield_per_builds_objects_a_batch_at_a_time(User, engine):
    with Session(engine) as s:
        result = s.execute(select(User).order_by(User.id).execution_options(yield_per=10))
        assert [len(p) for p in result.partitions()] == [10] * 5
        stream = iter(s.scalars(select(User).order_by(User.id), execution_options={
            "yield_per": 7}))
        first = next(stream)
        assert first.id == 1
        # only the first batch has become objects so far
        assert len(s.identity_map) == 7
        rest = list(stream)
        assert len(rest) == 49 and len(s.identity_map) == 50
        assert _streamed_ids(s, User, 9) == list(range(1, 51))


def test_query_yield_per_streams_and_returns_the_same_objects(User, engine):
    with Session(engine) as s:
        q = s.query(User).order_by(User.id).yield_per(5)
        it = iter(q)
        first = next(it)
        assert len(s.identity_map) == 5
        assert [first.id, *(u.id for u in it)] == list(range(1, 51))
        assert s.query(User).order_by(User.id).yield_per(5).all()[0] is first
        rows = list(s.query(User.id, User.name).order_by(User.id).yield_per(20))
        assert rows[0] == (1, "u1") and len(rows) == 50


def test_streamed_column_bundle_and_mixed_rows_read_by_name_and_position(User, engine):
    # yield_per rows of columns, of bundles and of an entity with a column are the
    # same rows as without yield_per: values in select order, named by their keys
    name_b = Bundle("who", User.id, User.name)
    with Session(engine) as s:
        for q in (s.query(User.name, User.id), s.query(name_b), s.query(User, User.name),
                  s.query(Bundle("one", User.name)), s.query(User.name)):
            q = q.filter(User.id <= 12).order_by(User.id)
            want = q.all()
            got = q.yield_per(5).all()
            assert got == want and len(got) == 12
            assert [r._fields for r in got[:1]] == [r._fields for r in want[:1]]
        rows = s.query(User.name, User.id).filter(User.id <= 2).order_by(User.id).yield_per(1)
        assert [(r.name, r.id, r[0]) for r in rows] == [("u1", 1, "u1"), ("u2", 2, "u2")]
        who = s.query(name_b).filter(User.id == 3).yield_per(5).one().who
        assert (who.id, who.name, tuple(who)) == (3, "u3", (3, "u3"))
        stmt = select(User.id, User.name).where(User.id <= 7).order_by(User.id)
        streamed = s.execute(stmt, execution_options={"yield_per": 3}).all()
        assert [tuple(r) for r in streamed] == [(i, f"u{i}") for i in range(1, 8)]
        assert streamed[0].name == "u1" and streamed[0]._mapping["id"] == 1
        mixed = s.execute(select(User, User.name).where(User.id <= 2).order_by(User.id)).all()
        assert [(u.id, n) for u, n in mixed] == [(1, "u1"), (2, "u2")]
        assert mixed[0].User is mixed[0][0] and mixed[1].name == "u2"


class _CountingCursor(sqlite3.Cursor):
    fetched = 0

    def fetchmany(self, size=None):
        rows = super().fetchmany(size) if size is not None else super().fetchmany()
        _CountingCursor.fetched += len(rows)
        return rows

    def fetchall(self):
        rows = super().fetchall()
        _CountingCursor.fetched += len(rows)
        return rows

    def fetchone(self):
        row = super().fetchone()
        _CountingCursor.fetched += row is not None
        return row


class _CountingConnection(sqlite3.Connection):
    def cursor(self, factory=_CountingCursor):
        return super().cursor(factory)


@pytest.mark.sqlite_only
def test_yield_per_fetches_rows_from_the_driver_in_batches_sqlite(User, engine_factory):
    counting = engine_factory(connect_args={"factory": _CountingConnection})
    with Session(counting) as s:
        s.connection()  # connect first: the connect listeners' PRAGMAs read a row
        _CountingCursor.fetched = 0
        stream = iter(s.scalars(select(User).order_by(User.id).execution_options(
            yield_per=10)))
        next(stream)
        assert 0 < _CountingCursor.fetched <= 20  # a batch (Core may read one ahead)
        assert len(list(stream)) == 49
        assert _CountingCursor.fetched == 50
        _CountingCursor.fetched = 0
        s.scalars(select(User)).all()
        assert _CountingCursor.fetched == 50  # without yield_per: everything at once


@pytest.mark.postgresql_only
def test_yield_per_uses_a_server_side_cursor_postgresql(User, engine):
    with Session(engine) as s:
        stream = iter(s.scalars(select(User).order_by(User.id).execution_options(
            yield_per=10)))
        next(stream)
        open_cursors = s.execute(text("SELECT count(*) FROM pg_cursors")).scalar()
        assert open_cursors == 1
        assert len(list(stream)) == 49
        assert s.execute(text("SELECT count(*) FROM pg_cursors")).scalar() == 0


@pytest.mark.mysql_only
def test_yield_per_uses_an_unbuffered_cursor_mysql(User, engine):
    seen = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "res_users" in statement:
            seen.append(type(cursor).__name__)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with Session(engine) as s:
            assert _streamed_ids(s, User, 10) == list(range(1, 51))
            s.scalars(select(User)).all()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert seen[0] == "SSCursor" and seen[1] != "SSCursor"


def test_yield_per_refuses_a_batch_size_that_is_not_positive(User, engine):
    from datamapper.exc import InvalidRequestError

    with Session(engine) as s:
        with pytest.raises(InvalidRequestError, match="positive integer"):
            s.execute(select(User).execution_options(yield_per=0)).all()
