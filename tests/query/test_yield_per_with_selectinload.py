"""Query.yield_per(n) with selectinload() (or immediateload(), a joined many-to-one)
streams: n rows are fetched at a time and each batch's objects get their relationships
(one SELECT ... IN per batch for selectinload) before the next batch, as SQLAlchemy
documents.  It loaded the whole result and its relationships at once.  What the
database sees."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer

from datamapper import immediateload, joinedload, relationship, select, selectinload


@pytest.fixture
def M(Base, engine):
    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", order_by="B.id")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)
        a_id = Column(Integer, ForeignKey("a.id"))
        a = relationship(A)

    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(A.__table__.insert(), [{"id": i} for i in range(1, 26)])
        conn.execute(B.__table__.insert(),
                     [{"id": i, "a_id": (i + 1) // 2} for i in range(1, 51)])

    class Models:
        pass

    m = Models()
    m.A, m.B = A, B
    return m


def test_selectinload_loads_per_batch(M, session, sql_log):
    A = M.A
    seen = []
    it = iter(session.query(A).options(selectinload(A.bs)).order_by(A.id).yield_per(10))
    first = next(it)
    # the parents' SELECT and the first batch's children only
    assert sql_log.count == 2
    assert "a.id" in sql_log.statements[1] or "a_id" in sql_log.statements[1]
    seen.append(first)
    seen.extend(it)
    assert sql_log.count == 1 + 3  # 25 rows in batches of 10: 3 child SELECTs
    sql_log.clear()
    assert [a.id for a in seen] == list(range(1, 26))
    assert all([b.id for b in a.bs] == [2 * a.id - 1, 2 * a.id] for a in seen)
    assert sql_log.count == 0


def test_immediateload_and_joined_many_to_one_stream(M, session, sql_log):
    A, B = M.A, M.B
    bs = list(session.query(B).options(joinedload(B.a)).order_by(B.id).yield_per(7))
    assert sql_log.count == 1
    assert [b.a.id for b in bs] == [(i + 1) // 2 for i in range(1, 51)]
    sql_log.clear()
    out = list(session.query(A).options(immediateload(A.bs)).order_by(A.id).yield_per(10))
    assert len(out) == 25
    assert all(len(a.__dict__["bs"]) == 2 for a in out)


def test_yield_per_with_selectinload_of_several_entities(M, session, sql_log):
    A, B = M.A, M.B
    rows = list(session.query(B, A).join(B.a).options(selectinload(A.bs))
                .order_by(B.id).yield_per(20))
    assert len(rows) == 50
    assert sql_log.count == 1 + 3  # 50 rows in batches of 20
    sql_log.clear()
    assert all(b in a.bs for b, a in rows)
    assert sql_log.count == 0


# -- the 2.x form: session.execute(select(...).execution_options(yield_per=n)) ----------------
def test_execute_with_yield_per_option_loads_selectin_per_partition(M, session, sql_log):
    A = M.A
    stmt = select(A).options(selectinload(A.bs)).order_by(A.id).execution_options(yield_per=10)
    result = session.execute(stmt).scalars()
    sizes = []
    counts = []
    for part in result.partitions():
        sizes.append(len(part))
        counts.append(sql_log.count)
        assert all(len(a.__dict__["bs"]) == 2 for a in part)
    assert sizes == [10, 10, 5]
    # the parents' SELECT, then one children's SELECT per batch, as each is reached
    assert counts == [2, 3, 4]
    assert all("IN" in s for s in sql_log.statements[1:])


def test_execute_yield_per_as_call_option_and_scalars(M, session, sql_log):
    A = M.A
    stmt = select(A).options(selectinload(A.bs)).order_by(A.id)
    it = iter(session.scalars(stmt, execution_options={"yield_per": 10}))
    first = next(it)
    assert sql_log.count == 2
    rest = list(it)
    assert sql_log.count == 4
    sql_log.clear()
    assert [a.id for a in [first, *rest]] == list(range(1, 26))
    assert all([b.id for b in a.bs] == [2 * a.id - 1, 2 * a.id] for a in [first, *rest])
    assert sql_log.count == 0


def test_execute_yield_per_rows_of_several_entities(M, session, sql_log):
    A, B = M.A, M.B
    stmt = (select(B, A).join(B.a).options(selectinload(A.bs)).order_by(B.id)
            .execution_options(yield_per=20))
    result = session.execute(stmt)
    first = result.fetchmany(20)
    assert len(first) == 20 and sql_log.count == 2
    rows = first + result.all()
    assert len(rows) == 50
    assert sql_log.count == 1 + 3
    sql_log.clear()
    assert [b.id for b, _ in rows] == list(range(1, 51))
    assert all(b in a.bs for b, a in rows)
    assert sql_log.count == 0


def test_execute_yield_per_with_joined_many_to_one(M, session, sql_log):
    B = M.B
    stmt = select(B).options(joinedload(B.a)).order_by(B.id).execution_options(yield_per=7)
    parts = list(session.execute(stmt).scalars().partitions())
    assert [len(p) for p in parts] == [7] * 7 + [1]
    assert sql_log.count == 1
    sql_log.clear()
    assert [b.a.id for p in parts for b in p] == [(i + 1) // 2 for i in range(1, 51)]
    assert sql_log.count == 0
