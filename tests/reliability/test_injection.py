"""Injection: hostile strings in value positions travel as bound parameters and round
trip exactly; names in identifier positions are checked against the mapper before
any SQL is sent.

Value positions: ``filter_by``, ``filter``, ``in_``, ``contains``/``like`` with
``autoescape``, ``get`` by a string key, attribute values written by INSERT and
UPDATE, ``merge``, ``text()`` binds.  After each example a canary table and the
list of tables are unchanged (nothing was executed), and every payload reads
back byte for byte on a separate connection.

Identifier positions: ``filter_by`` keys (``__class__``, ``metadata``,
``registry``, ``__table__``, SQL fragments), ``order_by``/``group_by`` strings,
``get()`` dictionary keys, constructor keywords, bulk-update keys, relationship
names in loader options and joins: each is refused with a named error and no
statement reaches the database.

MariaDB is also tried under ``sql_mode`` with ``NO_BACKSLASH_ESCAPES`` and
``ANSI_QUOTES``, where a client that escaped quotes with backslashes would be
injectable.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, ForeignKey, Integer, String, text
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import ArgumentError, InvalidRequestError, StatementError

from datamapper import Session, declarative_base, joinedload, relationship

KNOWN = [
    "' OR '1'='1", "'; DROP TABLE canary; --", "'); DELETE FROM canary; --",
    '" OR ""="', "\\'; DROP TABLE canary; --", "\\", "\\\\'", "' --", "/* */ OR 1=1",
    "%", "_", "%_%", "\\%", "a%b_c", ":name", "%(name)s", "%s", "?", "$1", "{0}",
    "\u2019 OR 1=1 --", "\u02bc; DROP TABLE canary", "\uff07 OR 1=1", "\u201c\u201d",
    "`; DROP TABLE canary; `", "; COMMIT; DROP TABLE canary", "\n; DROP TABLE canary",
    "Robert'); DROP TABLE students;--", "\x1a", "\t\r\n", "é\u0301", "\U0001F600'",
]
ALPHABET = st.sampled_from(list("'\"\\;-/*%_:?$`(){}#\n\r\t aZ9") + [
    "\u2019", "\u02bc", "\uff07", "\u201c", "\uff02", "\x1a"])
PAYLOAD = st.one_of(st.sampled_from(KNOWN), st.text(ALPHABET, min_size=1, max_size=30))

BIN_STRING = String(200).with_variant(mysql.VARCHAR(200, collation="utf8mb4_bin"), "mysql", "mariadb")


@pytest.fixture
def model(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(BIN_STRING)
        tags = relationship("Tag", back_populates="user")

    class Tag(Base):
        __tablename__ = "tags"
        code = Column(BIN_STRING, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        user = relationship("User", back_populates="tags")

    canary = sa.Table("canary", metadata, Column("id", Integer, primary_key=True),
                      Column("note", String(20)))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(canary.insert(), [{"id": 1, "note": "alive"}])
    return User, Tag, canary


def _tables(engine):
    return sorted(sa.inspect(engine).get_table_names())


def _check_value_positions(engine, model, payload, read_rows):
    User, Tag, canary = model
    tables = _tables(engine)
    if engine.dialect.name == "postgresql" and "\x00" in payload:
        return
    try:
        _round_trips(engine, model, payload, read_rows)
        assert read_rows(canary) == [(1, "alive")]
        assert _tables(engine) == tables
    finally:
        with engine.begin() as conn:
            conn.execute(Tag.__table__.delete())
            conn.execute(User.__table__.delete())


def _round_trips(engine, model, payload, read_rows):
    User, Tag, _canary = model
    with Session(engine) as s:
        u = User(id=1, name=payload)
        s.add_all([u, User(id=2, name="QQQ"), Tag(code=payload, user=u)])
        s.commit()
        assert [x.id for x in s.query(User).filter_by(name=payload)] == [1]
        assert [x.id for x in s.query(User).filter(User.name == payload)] == [1]
        assert sorted(x.id for x in s.query(User).filter(User.name.in_([payload, "zz"]))) == [1]
        hits = s.query(User).filter(User.name.contains(payload, autoescape=True)).all()
        assert [x.id for x in hits] == [1]
        assert [x.id for x in s.query(User).filter(User.name.like(
            payload.replace("/", "//").replace("%", "/%").replace("_", "/_"), escape="/"))] == [1]
        assert s.get(Tag, payload).user is u
        got = s.execute(text("SELECT id FROM users WHERE name = :n"), {"n": payload}).all()
        assert [r[0] for r in got] == [1]
        u.name = payload + payload
        s.commit()
    assert read_rows(User.__table__) == [(1, payload + payload), (2, "QQQ")]
    detached = User(id=2, name=payload)
    with Session(engine) as s:
        s.merge(detached)
        s.commit()
    assert read_rows(User.__table__) == [(1, payload + payload), (2, payload)]
    assert read_rows(Tag.__table__) == [(payload, 1)]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(payload=PAYLOAD)
def test_payloads_in_value_positions_round_trip_and_execute_nothing(
        engine, model, read_rows, payload):
    _check_value_positions(engine, model, payload, read_rows)


@pytest.mark.mysql_only
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(payload=PAYLOAD)
def test_mariadb_no_backslash_escapes_and_ansi_quotes_modes(
        engine_factory, model, read_rows, payload):
    eng = engine_factory()

    @sa.event.listens_for(eng, "connect", insert=True)
    def _mode(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES,ANSI_QUOTES')")
        cur.close()

    with eng.connect() as conn:
        mode = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
    assert "NO_BACKSLASH_ESCAPES" in mode and "ANSI_QUOTES" in mode
    _check_value_positions(eng, model, payload, read_rows)


def test_nul_in_postgresql_text_is_a_named_error_and_the_session_recovers(engine, model, read_rows):
    if engine.dialect.name != "postgresql":
        pytest.skip("NUL is storable on SQLite and MariaDB")
    User, _Tag, canary = model
    with Session(engine) as s:
        s.add(User(id=1, name="a\x00b"))
        with pytest.raises(StatementError):
            s.commit()
        s.rollback()
        s.add(User(id=1, name="ab"))
        s.commit()
    assert read_rows(User.__table__) == [(1, "ab")]


# -- identifier positions ---------------------------------------------------------------
HOSTILE_NAMES = ["__class__", "metadata", "registry", "__table__", "__mapper__", "_sa_x",
                 "id; DROP TABLE canary", "name = name --", "1=1", "name)", "", "nam\u0435"]


@pytest.mark.parametrize("key", HOSTILE_NAMES)
def test_filter_by_refuses_names_that_are_not_mapped_attributes(engine, model, sql_log, key):
    User, _Tag, _canary = model
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises(InvalidRequestError, match="filter_by"):
            s.query(User).filter_by(**{key: 1})
        assert sql_log.count == 0


@pytest.mark.parametrize("expr", ["id; DROP TABLE canary", "name DESC; --", "(SELECT 1)",
                                  "__class__", "metadata", "users.id; --", "nosuch"])
def test_order_by_and_group_by_strings_must_name_mapped_attributes(engine, model, sql_log, expr):
    User, _Tag, _canary = model
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises((InvalidRequestError, ArgumentError)):
            s.query(User).order_by(expr).all()
        with pytest.raises((InvalidRequestError, ArgumentError)):
            s.query(User.name).group_by(expr).all()
        assert sql_log.count == 0


@pytest.mark.parametrize("key", ["id; DROP TABLE canary", "__class__", "name", "ID"])
def test_get_with_a_dict_refuses_keys_that_are_not_primary_key_attributes(
        engine, model, sql_log, key):
    User, _Tag, _canary = model
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises(InvalidRequestError):
            s.get(User, {key: 1})
        assert sql_log.count == 0


@pytest.mark.parametrize("key", ["__class__", "metadata", "registry", "__table__", "query",
                                 "id; DROP TABLE canary", "_sa_instance_state"])
def test_constructor_refuses_names_that_are_not_mapped_attributes(model, key):
    User, _Tag, _canary = model
    with pytest.raises(TypeError, match=key.replace("(", r"\(").split(";")[0]):
        User(**{key: 1})


@pytest.mark.parametrize("key", ["__class__", "metadata", "id; DROP TABLE canary", "nosuch"])
def test_bulk_update_refuses_keys_that_are_not_mapped_attributes(engine, model, sql_log, key):
    User, _Tag, _canary = model
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises((InvalidRequestError, ArgumentError)):
            s.query(User).filter(User.id == 1).update({key: "x"})
        assert sql_log.count == 0


@pytest.mark.parametrize("name", ["tags; DROP TABLE canary", "__class__", "metadata", "nosuch"])
def test_relationship_names_in_options_and_joins_are_checked(engine, model, sql_log, name):
    User, _Tag, _canary = model
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises((InvalidRequestError, ArgumentError)):
            s.query(User).options(joinedload(name)).all()
        with pytest.raises((InvalidRequestError, ArgumentError)):
            s.query(User).join(name).all()
        assert sql_log.count == 0


# -- the checks above can fail ---------------------------------------------------------
def test_the_round_trip_check_catches_a_client_that_inlines_values(engine, model, read_rows):
    """A deliberately broken writer that formats the value into the SQL string: the
    same checks must notice (the canary or the round trip breaks)."""
    User, _Tag, canary = model
    payload = "x'); DELETE FROM canary; --"
    broken = False
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"INSERT INTO users (id, name) VALUES (1, '{payload}')")  # the bug under test
    except Exception:
        broken = True  # the statement was mangled by the payload: caught
    if not broken:
        rows = read_rows(User.__table__)
        broken = rows != [(1, payload)] or read_rows(canary) != [(1, "alive")]
    assert broken
