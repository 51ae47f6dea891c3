"""``datamapper.ext.asyncio``: AsyncSession on engines from ``create_async_engine()``
(aiosqlite, psycopg's async mode, aiomysql), as asyncio code (FastAPI and the like)
uses it.  Each test runs its coroutine with ``asyncio.run`` and checks the rows on a
separate (synchronous) connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.exc import MissingGreenlet, StatementError

from datamapper import DeclarativeBase, Mapped, mapped_column, relationship, selectinload
from datamapper.exc import InvalidRequestError

pytest.importorskip("greenlet")
asyncio_ext = pytest.importorskip("sqlalchemy.ext.asyncio")  # Core's engine side
from datamapper.ext.asyncio import (  # noqa: E402
    AsyncAttrs,
    AsyncSession,
    async_object_session,
    async_scoped_session,
    async_sessionmaker,
)

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg_async",
                  "mysql": "mysql+aiomysql"}


@pytest.fixture
def async_url(db_url: str, backend_name: str) -> str:
    url = sa.make_url(db_url)
    driver = _ASYNC_DRIVERS[backend_name]
    pytest.importorskip({"sqlite": "aiosqlite", "postgresql": "psycopg",
                         "mysql": "aiomysql"}[backend_name])
    return url.set(drivername=driver).render_as_string(hide_password=False)


@pytest.fixture
def M(metadata, engine):
    class Base(AsyncAttrs, DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class A(Base):
        __tablename__ = "as_a"
        id: Mapped[int] = mapped_column(primary_key=True)
        data: Mapped[str] = mapped_column(String(30))
        bs: Mapped[list[B]] = relationship(cascade="all, delete-orphan", order_by="B.id")

    class B(Base):
        __tablename__ = "as_b"
        id: Mapped[int] = mapped_column(primary_key=True)
        a_id: Mapped[int] = mapped_column(ForeignKey("as_a.id"))
        data: Mapped[str] = mapped_column(String(30))

    metadata.create_all(engine)

    class NS:
        pass

    ns = NS()
    ns.A, ns.B = A, B
    return ns


def _run(async_url: str, body: Any) -> Any:
    async def main() -> Any:
        engine = asyncio_ext.create_async_engine(async_url)
        try:
            return await body(engine)
        finally:
            await engine.dispose()
    return asyncio.run(main())


def test_add_commit_query_and_eager_load(M, async_url, read_rows):
    async def body(engine):
        maker = async_sessionmaker(engine, expire_on_commit=False)
        async with maker() as session:
            async with session.begin():
                session.add_all([M.A(data="a1", bs=[M.B(data="b1"), M.B(data="b2")]),
                                 M.A(data="a2", bs=[M.B(data="b3")])])
        async with maker() as session:
            result = await session.execute(
                select(M.A).order_by(M.A.id).options(selectinload(M.A.bs)))
            return [(a.data, [b.data for b in a.bs]) for a in result.scalars()]

    assert _run(async_url, body) == [("a1", ["b1", "b2"]), ("a2", ["b3"])]
    assert [r[2] for r in read_rows(M.B.__table__)] == ["b1", "b2", "b3"]


def test_get_change_commit_delete_and_scalars(M, async_url, read_rows):
    async def body(engine):
        async with AsyncSession(engine) as session:
            session.add(M.A(id=1, data="x", bs=[M.B(data="y")]))
            await session.commit()
            a = await session.get(M.A, 1)
            a.data = "changed"
            await session.flush()
            assert await session.scalar(select(M.A.data)) == "changed"
            await session.commit()
            await session.refresh(a, ["bs"])
            assert [b.data for b in a.bs] == ["y"]
            await session.delete(a)  # the cascade loads nothing more: bs are loaded
            await session.commit()
            return await session.scalar(select(func.count()).select_from(M.B))

    assert _run(async_url, body) == 0
    assert read_rows(M.A.__table__) == []


def test_rollback_discards_and_dml_rowcount(M, async_url, read_rows):
    async def body(engine):
        async with AsyncSession(engine) as session:
            session.add(M.A(id=1, data="keep"))
            await session.commit()
            session.add(M.A(id=2, data="drop"))
            await session.flush()
            await session.rollback()
            result = await session.execute(sa.update(M.A).values(data="upd"))
            assert result.rowcount == 1
            await session.commit()

    _run(async_url, body)
    assert read_rows(M.A.__table__) == [(1, "upd")]


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_unloaded_attribute_needs_awaitable_attrs_or_run_sync(M, async_url):
    async def body(engine):
        async with AsyncSession(engine) as session:
            session.add(M.A(id=1, data="a", bs=[M.B(data="b")]))
            await session.commit()
            a = (await session.scalars(select(M.A))).one()
            # Core 2.1 wraps MissingGreenlet in StatementError, 2.0 raises it as is
            with pytest.raises((StatementError, MissingGreenlet),
                               match="greenlet_spawn has not been called"):
                a.bs  # noqa: B018  (a lazy load outside the greenlet)
            loaded = await a.awaitable_attrs.bs
            assert [b.data for b in loaded] == ["b"]
            count = await session.run_sync(lambda s: s.query(M.B).count())
            assert async_object_session(a) is session
            return count

    assert _run(async_url, body) == 1


def test_stream_reads_rows_as_iterated(M, async_url):
    async def body(engine):
        async with AsyncSession(engine) as session:
            session.add_all([M.A(id=i, data=f"d{i}") for i in range(1, 6)])
            await session.commit()
            result = await session.stream(select(M.A.data).order_by(M.A.id))
            rows = [row.data async for row in result]
            objs = await (await session.stream_scalars(select(M.A).order_by(M.A.id))).all()
            parts = [len(p) async for p in (await session.stream(
                select(M.A.id).order_by(M.A.id))).partitions(2)]
            return rows, [o.id for o in objs], parts

    rows, ids, parts = _run(async_url, body)
    assert rows == ["d1", "d2", "d3", "d4", "d5"]
    assert ids == [1, 2, 3, 4, 5]
    assert parts == [2, 2, 1]


def test_begin_nested_and_transaction_objects(M, async_url, read_rows):
    async def body(engine):
        async with AsyncSession(engine) as session:
            async with session.begin():
                session.add(M.A(id=1, data="outer"))
                try:
                    async with session.begin_nested():
                        session.add(M.A(id=2, data="inner"))
                        raise RuntimeError("undo the savepoint")
                except RuntimeError:
                    pass
            tx = await session.begin()
            assert session.get_transaction() is not None and tx.is_active
            session.add(M.A(id=3, data="third"))
            await tx.commit()

    _run(async_url, body)
    assert read_rows(M.A.__table__) == [(1, "outer"), (3, "third")]


def test_scoped_session_per_task(M, async_url):
    async def body(engine):
        scoped = async_scoped_session(async_sessionmaker(engine),
                                      scopefunc=asyncio.current_task)

        async def in_task() -> int:
            return id(scoped())

        first = id(scoped())
        assert id(scoped()) == first
        other = await asyncio.create_task(in_task())
        await scoped.remove()
        return first != other

    assert _run(async_url, body) is True


def test_transaction_not_started_is_refused(M, async_url):
    async def body(engine):
        async with AsyncSession(engine) as session:
            tx = session.begin()
            with pytest.raises(InvalidRequestError, match="was not started"):
                await tx.commit()

    _run(async_url, body)


def test_connection_is_the_async_connection_of_the_transaction(M, async_url):
    async def body(engine):
        async with AsyncSession(engine) as session:
            session.add(M.A(id=1, data="a"))
            await session.flush()
            conn = await session.connection()
            seen = (await conn.execute(sa.text("SELECT data FROM as_a"))).scalar()
            await session.rollback()
            return type(conn).__name__, seen

    assert _run(async_url, body) == ("AsyncConnection", "a")
