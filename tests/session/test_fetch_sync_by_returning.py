"""``synchronize_session="fetch"`` learns which rows an UPDATE/DELETE changed from
the statement itself (RETURNING of the primary key) where the database returns
rows for it: one statement, and the objects brought in line are exactly those of
the rows it changed (a SELECT before it could see other rows than the statement
then changes).  Elsewhere (UPDATE on MariaDB) the keys are SELECTed first, as
before."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, delete, insert, update

from datamapper import DeclarativeBase, Mapped, Session, inspect, mapped_column


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "fsr_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        age: Mapped[int] = mapped_column()

    class Address(Base):
        __tablename__ = "fsr_addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("fsr_users.id"))
        email: Mapped[str] = mapped_column(String(30))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(User), [{"id": i, "name": f"u{i}", "age": 10 * i} for i in (1, 2, 3)])
        s.execute(insert(Address), [{"id": 1, "user_id": 2, "email": "x"}])
        s.commit()
    return User, Address


def _fetch(s, stmt):
    return s.execute(stmt, execution_options={"synchronize_session": "fetch"})


def test_update_fetch_is_one_statement_where_update_returns_rows(models, engine, sql_log,
                                                                   read_rows):
    User, _ = models
    with Session(engine) as s:
        users = s.query(User).order_by(User.id).all()
        sql_log.clear()
        result = _fetch(s, update(User).where(User.age > 15).values(name="X"))
        assert result.rowcount == 2
        if engine.dialect.update_returning:
            assert len(sql_log.statements) == 1 and "RETURNING" in sql_log.statements[0]
        else:
            assert len(sql_log.matching("SELECT")) == 1
        assert [u.name for u in users] == ["u1", "X", "X"]
        s.commit()
    assert [r[1] for r in read_rows(User.__table__)] == ["u1", "X", "X"]


def test_delete_fetch_is_one_statement_where_delete_returns_rows(models, engine, sql_log,
                                                                   read_rows):
    User, Address = models
    with Session(engine) as s:
        users = s.query(User).order_by(User.id).all()
        s.execute(delete(Address))
        sql_log.clear()
        result = _fetch(s, delete(User).where(User.age < 25))
        assert result.rowcount == 2
        if engine.dialect.delete_returning:
            assert len(sql_log.statements) == 1 and "RETURNING" in sql_log.statements[0]
        assert [inspect(u).deleted for u in users] == [True, True, False]
        s.commit()
    assert [r[0] for r in read_rows(User.__table__)] == [3]


def test_update_fetch_with_criteria_on_another_table(models, engine, read_rows):
    User, Address = models
    with Session(engine) as s:
        users = s.query(User).order_by(User.id).all()
        _fetch(s, update(User).where(User.id == Address.user_id).where(Address.email == "x")
               .values(name="has x"))
        assert [u.name for u in users] == ["u1", "has x", "u3"]
        s.commit()
    assert [r[1] for r in read_rows(User.__table__)] == ["u1", "has x", "u3"]


def test_update_fetch_sql_expression_is_expired_on_matched_objects_only(models, engine):
    User, _ = models
    with Session(engine) as s:
        users = s.query(User).order_by(User.id).all()
        _fetch(s, update(User).where(User.name != "u1").values(age=User.age + 1))
        assert ["age" in u.__dict__ for u in users] == [True, False, False]
        assert [u.age for u in users] == [10, 21, 31]


def test_fetch_with_return_defaults_of_its_own(models, engine):
    User, _ = models
    with Session(engine) as s:
        users = s.query(User).order_by(User.id).all()
        _fetch(s, update(User).where(User.age > 15).values(name="X").return_defaults())
        assert [u.name for u in users] == ["u1", "X", "X"]


def test_fetch_in_an_autocommit_session(models, engine, read_rows):
    User, Address = models
    s = Session(engine, autocommit=True)
    try:
        users = s.query(User).order_by(User.id).all()
        s.query(User).filter(User.age > 15).update({"name": "Q"}, synchronize_session="fetch")
        _fetch(s, update(User).where(User.age > 25).values(name="E"))
        assert [u.name for u in users] == ["u1", "Q", "E"]
        s.execute(delete(Address))
        _fetch(s, delete(User).where(User.name == "E"))
        assert [inspect(u).deleted or inspect(u).detached for u in users] == [False, False, True]
    finally:
        s.close()
    assert [r[1] for r in read_rows(User.__table__)] == ["u1", "Q"]
