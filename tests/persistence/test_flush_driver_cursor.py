"""A flush's UPDATE, DELETE and (SQLite) INSERT ... RETURNING rows go to the driver's
cursor directly when nothing of Core's execution would show (no statement event
listeners, no logging, no execution options): what the database holds, the row
counts the flush checks, the generated keys and the errors are those of Core's
own execution, and a listener or the log still sees every statement."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, event
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.types import TypeDecorator

from datamapper import Session, exc, relationship
from datamapper.persistence import driver as driver_module


class Upper(TypeDecorator):
    """Stores strings upper-cased: a bind processor the direct path must apply."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else value.upper()


@pytest.fixture
def models(Base, engine):
    class User(Base):
        __tablename__ = "dcur_user"
        id = Column(Integer, primary_key=True)
        name = Column(String(40), unique=True)
        label = Column(Upper)
        addresses = relationship("Address", back_populates="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "dcur_address"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("dcur_user.id"))
        email = Column(String(40))
        user = relationship(User, back_populates="addresses")

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=i, name=f"u{i}", label=f"l{i}",
                        addresses=[Address(email=f"u{i}-{k}") for k in range(3)])
                   for i in range(1, 6)])
        s.commit()
    return User, Address


def _many_direct(engine) -> bool:
    """Whether several rows go to the driver directly too (the dialect's executemany is
    the default one; MySQLdb/PyMySQL's own is not, and keeps Core's path)."""
    return type(engine.dialect).do_executemany is DefaultDialect.do_executemany


@pytest.fixture
def direct_writes(monkeypatch):
    """The statements the flush ran through the direct path (SQL text, rows)."""
    seen: list[tuple[str, list[object]]] = []
    real = driver_module.driver_write

    def spy(conn, sql, rows, fetch=False):
        seen.append((sql, list(rows)))
        return real(conn, sql, rows, fetch)

    monkeypatch.setattr(driver_module, "driver_write", spy)
    return seen


def test_a_request_sized_flush_writes_what_the_objects_hold(models, engine, read_rows,
                                                            direct_writes):
    User, Address = models
    with Session(engine) as s:
        user = s.get(User, 2)
        user.name = "renamed"
        user.label = "mixed Case"
        new = Address(email="added")
        user.addresses.append(new)
        s.delete(s.get(Address, 1))
        s.commit()
        new_id = new.id
    assert read_rows("SELECT name, label FROM dcur_user WHERE id = 2") == [("renamed",
                                                                            "MIXED CASE")]
    assert read_rows(f"SELECT user_id, email FROM dcur_address WHERE id = {new_id}") == [
        (2, "added")]
    assert read_rows("SELECT count(*) FROM dcur_address WHERE id = 1") == [(0,)]
    kinds = sorted(sql.split()[0].upper() for sql, _rows in direct_writes)
    expected = ["DELETE", "INSERT", "UPDATE"] if engine.dialect.name == "sqlite" \
        else ["DELETE", "UPDATE"]
    assert kinds == expected


def test_several_rows_are_one_executemany_and_their_keys_match(models, engine, read_rows,
                                                                direct_writes):
    User, Address = models
    with Session(engine) as s:
        users = s.query(User).order_by(User.id).all()
        for u in users:
            u.label = f"x{u.id}"
        added = [Address(email=f"n{k}", user=users[k % 5]) for k in range(7)]
        s.add_all(added)
        s.commit()
        got = {a.id: (a.user_id, a.email) for a in added}
    updates = [rows for sql, rows in direct_writes if sql.lstrip().upper().startswith("UPDATE")]
    assert [len(rows) for rows in updates] == ([5] if _many_direct(engine) else [])
    assert read_rows("SELECT id, label FROM dcur_user ORDER BY id") == [
        (i, f"X{i}") for i in range(1, 6)]
    ids = ",".join(map(str, got))
    assert {r[0]: (r[1], r[2]) for r in read_rows(
        f"SELECT id, user_id, email FROM dcur_address WHERE id IN ({ids})")} == got


@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("how", ["update", "delete"])
def test_a_row_gone_behind_the_flush_is_stale_data(models, engine, how, count, direct_writes):
    User, Address = models
    with Session(engine) as s:
        objs = s.query(Address).filter(Address.user_id == 3).all()[:count]
        # the row goes behind the ORM's back, in the session's own transaction
        s.connection().execute(sa.text("DELETE FROM dcur_address WHERE id = :i"),
                               {"i": objs[-1].id})
        for a in objs:
            if how == "update":
                a.email = "changed"
            else:
                s.delete(a)
        if how == "update":
            with pytest.raises(exc.StaleDataError, match="dcur_address"):
                s.flush()
        else:  # as SQLAlchemy does: a warning naming the counts, the flush goes on
            with pytest.warns(sa.exc.SAWarning, match=f"matched {count - 1} of the {count}"):
                s.flush()
        s.rollback()
    # the row count came from the direct path
    assert bool(direct_writes) is (count == 1 or _many_direct(engine))


def test_a_driver_error_is_raised_as_core_raises_it(models, engine, read_rows,
                                                      direct_writes):
    User, _Address = models
    with Session(engine) as s:
        s.get(User, 1).name = "u2"  # the unique name of user 2
        with pytest.raises(sa.exc.IntegrityError) as info:
            s.commit()
        assert "UPDATE dcur_user" in str(info.value)  # the statement, as Core names it
        s.rollback()
        assert s.get(User, 1).name == "u1"
        s.get(User, 1).name = "fine"
        s.commit()
    assert direct_writes
    assert read_rows("SELECT name FROM dcur_user ORDER BY id") == [
        ("fine",), ("u2",), ("u3",), ("u4",), ("u5",)]


def test_handle_error_listeners_see_a_failing_flush(models, engine, direct_writes):
    User, _Address = models
    handled = []

    def on_error(context):
        handled.append(type(context.sqlalchemy_exception).__name__)

    event.listen(engine, "handle_error", on_error)
    try:
        with Session(engine) as s:
            s.get(User, 1).name = "u2"
            with pytest.raises(sa.exc.IntegrityError):
                s.commit()
            s.rollback()
    finally:
        event.remove(engine, "handle_error", on_error)
    assert handled == ["IntegrityError"]


def test_statement_listeners_and_the_log_see_the_flush(models, engine, direct_writes, caplog):
    User, Address = models
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.lstrip().split()[0].upper())

    event.listen(engine, "before_cursor_execute", before)
    try:
        with Session(engine) as s:
            u = s.get(User, 4)
            u.name = "seen"
            u.addresses.append(Address(email="seen"))
            s.commit()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert "UPDATE" in seen and "INSERT" in seen
    assert not direct_writes
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        engine.echo = True
        try:
            with Session(engine) as s:
                s.get(User, 5).name = "logged"
                s.commit()
        finally:
            engine.echo = False
    assert any("UPDATE dcur_user" in r.getMessage() for r in caplog.records)
    assert not direct_writes
