"""Session.execute / scalar / scalars / connection."""

from sqlalchemy import Connection, insert, select, text

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
