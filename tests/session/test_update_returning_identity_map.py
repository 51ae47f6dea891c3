"""``session.execute(update(User)...returning(User))`` and the objects the session
already holds: the statement's SET values reach them through
``synchronize_session``; the returned rows fill only what they have not loaded,
unless ``populate_existing`` is asked for (then the rows overwrite them).  The
rows become objects when the result is fetched.

UPDATE .. RETURNING runs on SQLite and PostgreSQL (MariaDB has none)."""

from __future__ import annotations

import pytest
from sqlalchemy import String, insert, update

from datamapper import DeclarativeBase, Mapped, Session, mapped_column

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
def User(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "urim_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        age: Mapped[int] = mapped_column()
        note: Mapped[str | None] = mapped_column(String(30))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "a", "age": 10, "note": "n1"},
                                 {"id": 2, "name": "b", "age": 20, "note": "n2"}])
        s.commit()
    return User


def _out_of_band_note(s, User, value):
    """Change every row's note behind the session's back (same transaction)."""
    s.connection().execute(update(User.__table__).values(note=value))


def _loaded(obj):
    return {k: v for k, v in obj.__dict__.items() if not k.startswith("_")}


@pytest.mark.parametrize("sync", ["auto", "evaluate", "fetch"])
def test_returned_rows_do_not_overwrite_loaded_attributes(User, engine, read_rows, sync):
    with Session(engine) as s:
        u1 = s.get(User, 1)
        _out_of_band_note(s, User, "changed elsewhere")
        got = s.scalars(update(User).where(User.age > 5).values(name="X").returning(User),
                        execution_options={"synchronize_session": sync}).all()
        assert u1 in got and len(got) == 2
        # the SET value arrived; what the session had loaded otherwise stays
        assert _loaded(u1) == {"id": 1, "name": "X", "age": 10, "note": "n1"}
        s.commit()
    assert read_rows(User.__table__) == [(1, "X", 10, "changed elsewhere"),
                                         (2, "X", 20, "changed elsewhere")]


@pytest.mark.parametrize("sync", ["auto", "evaluate", "fetch", False])
def test_populate_existing_lets_returned_rows_refresh_loaded_objects(User, engine, sync):
    with Session(engine) as s:
        u1 = s.get(User, 1)
        _out_of_band_note(s, User, "changed elsewhere")
        got = s.scalars(update(User).where(User.age > 5).values(name="X").returning(User),
                        execution_options={"synchronize_session": sync,
                                           "populate_existing": True}).all()
        assert u1 in got
        assert _loaded(u1) == {"id": 1, "name": "X", "age": 10, "note": "changed elsewhere"}


def test_unflushed_change_survives_update_returning(User, engine, read_rows):
    with Session(engine, autoflush=False) as s:
        u1 = s.get(User, 1)
        u1.note = "mine"  # not flushed before the UPDATE
        got = s.scalars(update(User).where(User.id == 1).values(name="X")
                        .returning(User)).all()
        assert got == [u1]
        assert (u1.name, u1.note) == ("X", "mine")
        s.commit()
    assert read_rows(User.__table__, id=1) == [(1, "X", 10, "mine")]


def test_expired_attribute_is_filled_from_the_returned_row(User, engine, sql_log):
    with Session(engine) as s:
        u1 = s.get(User, 1)
        s.expire(u1, ["age"])
        _out_of_band_note(s, User, "changed elsewhere")
        sql_log.clear()
        s.scalars(update(User).where(User.id == 1).values(name="X")
                  .returning(User)).all()
        assert _loaded(u1) == {"id": 1, "name": "X", "age": 10, "note": "n1"}
        assert len(sql_log.matching("SELECT")) == 0


def test_sql_expression_value_is_read_from_the_returned_row(User, engine, sql_log):
    with Session(engine) as s:
        u1 = s.get(User, 1)
        sql_log.clear()
        got = s.scalars(update(User).where(User.id == 1).values(age=User.age + 1)
                        .returning(User)).all()
        assert got == [u1] and u1.age == 11
        assert len(sql_log.matching("SELECT")) == 0


def test_without_synchronize_the_loaded_object_keeps_its_values(User, engine, read_rows):
    with Session(engine) as s:
        u1 = s.get(User, 1)
        got = s.scalars(update(User).where(User.id == 1).values(name="X").returning(User),
                        execution_options={"synchronize_session": False}).all()
        assert got == [u1] and u1.name == "a"
        s.commit()
    assert read_rows(User.__table__, id=1) == [(1, "X", 10, "n1")]


def test_rows_become_objects_when_fetched(User, engine):
    with Session(engine) as s:
        u1 = s.get(User, 1)
        _out_of_band_note(s, User, "changed elsewhere")
        result = s.execute(update(User).where(User.id == 1).values(name="X")
                           .returning(User), execution_options={"populate_existing": True})
        assert _loaded(u1) == {"id": 1, "name": "X", "age": 10, "note": "n1"}
        assert result.scalars().all() == [u1]
        assert u1.note == "changed elsewhere"


def test_returned_object_not_yet_loaded_joins_the_identity_map(User, engine):
    with Session(engine) as s:
        u1 = s.get(User, 1)
        got = s.scalars(update(User).values(note="t").returning(User)).all()
        assert {u.id for u in got} == {1, 2}
        u2 = next(u for u in got if u.id == 2)
        assert s.get(User, 2) is u2 and u2.note == "t" and u1.note == "t"
