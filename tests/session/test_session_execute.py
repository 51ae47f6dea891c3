"""Session.execute / scalar / scalars / connection."""

import pytest
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import InvalidRequestError

from datamapper import inspect
from datamapper import select as dm_select


def test_execute_plain_string_is_textual_sql(session, User):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    result = session.execute("SELECT name FROM users ORDER BY id")
    assert [r[0] for r in result] == ["a", "b"]


def test_execute_text_with_bound_parameters(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    result = session.execute(text("SELECT name FROM users WHERE id = :id"), {"id": 1})
    assert result.scalar() == "a"


def test_scalar_with_plain_string(session, User):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    assert session.scalar("SELECT count(*) FROM users") == 2


def test_scalar_with_core_select(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    assert session.scalar(select(User.__table__.c.name)) == "a"


def test_execute_orm_select_scalars_returns_identity_mapped_objects(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    got = session.execute(dm_select(User).where(User.id == 1)).scalars().all()
    assert len(got) == 1 and got[0] is u


def test_scalars_with_orm_select(session, User):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    got = session.scalars(dm_select(User).where(User.name == "b")).all()
    assert [u.id for u in got] == [2]


def test_connection_is_part_of_session_transaction(session, User, read_rows):
    conn = session.connection()
    assert isinstance(conn, Connection)
    conn.execute(insert(User.__table__).values(id=1, name="a"))
    assert session.get(User, 1).name == "a"
    session.rollback()
    assert read_rows(User.__table__) == []


def test_execute_in_session_transaction_is_committed_by_commit(session, User, read_rows):
    session.execute(insert(User.__table__).values(id=1, name="a"))
    session.commit()
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_core_statements_with_a_query_subquery_run_in_the_session(session, User, read_rows):
    """A Core UPDATE / DELETE / SELECT of a table whose WHERE holds a Query's scalar
    subquery runs as the Core statement it is."""
    t = User.__table__
    session.add_all([User(id=10, name="a"), User(id=11, name="b")])
    session.commit()
    sub = session.query(t.c.id).where(t.c.id == 10).scalar_subquery()
    assert session.execute(select(t.c.id).where(t.c.id.in_(sub))).all() == [(10,)]
    session.execute(t.update().values(name="xyz").where(t.c.id.in_(sub)))
    session.commit()
    assert [r[:2] for r in read_rows(t)] == [(10, "xyz"), (11, "b")]
    session.execute(t.delete().where(t.c.id.in_(session.query(User.id).where(
        User.id == 11).scalar_subquery())))
    session.commit()
    assert [r[:2] for r in read_rows(t)] == [(10, "xyz")]


@pytest.mark.parametrize("how", ["close", "expunge_all", "reset"])
@pytest.mark.parametrize("yield_per", [None, 1])
def test_result_of_objects_refuses_rows_after_the_session_emptied(session, User, how,
                                                                   yield_per):
    """An ORM result made before close()/expunge_all()/reset() refuses to hand out its
    objects after: they belonged to an identity map that no longer exists."""
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    stmt = dm_select(User).order_by(User.id)
    if yield_per:
        stmt = stmt.execution_options(yield_per=yield_per)
    result = session.execute(stmt)
    getattr(session, how)()
    with pytest.raises(InvalidRequestError, match=r"Object <User> cannot be converted to "
                                                  r"'persistent' state.*closed, reset or "
                                                  r"expunge_all"):
        result.scalars().all()
    assert session.identity_map.keys() == []  # nothing was built into the emptied map


def test_result_of_columns_is_not_refused_after_close(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    result = session.execute(dm_select(User.name))
    session.close()
    assert result.all() == [("a",)]


def test_prebuffered_result_hands_out_detached_objects_after_close(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    result = session.execute(dm_select(User), execution_options={"prebuffer_rows": True})
    session.close()
    (u,) = result.scalars().all()
    assert u.name == "a" and inspect(u).detached
