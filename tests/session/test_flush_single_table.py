"""Flush of a single table: batched INSERT/UPDATE/DELETE, keys, defaults,
SQL expressions, row-count checks, identity conflicts, determinism."""

import random
import re

import pytest
from sqlalchemy import Column, Integer, String, func, text

from datamapper import exc, inspect


@pytest.fixture
def Item(Base, engine):
    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        note = Column(String(50))
        counter = Column(Integer, nullable=False, default=0)
        status = Column(String(20), server_default="fresh")

    Base.metadata.create_all(engine)
    return Item


def set_columns(update_sql):
    """Column names in the SET clause of an UPDATE statement."""
    m = re.search(r"\bSET\b(.*?)(\bWHERE\b|$)", update_sql, re.S | re.I)
    assert m, update_sql
    names = []
    for part in m.group(1).split(","):
        lhs = part.split("=")[0].strip().strip('"`[]')
        names.append(lhs.split(".")[-1].strip('"`[]').lower())
    return names


def _write_behind(engine, sql):
    with engine.begin() as conn:
        conn.execute(text(sql))


# --- INSERT -----------------------------------------------------------------


def test_insert_of_many_objects_with_same_columns_is_batched(session, Item, sql_log, read_rows):
    session.add_all([Item(id=i, name=f"n{i}", counter=i) for i in range(1, 51)])
    sql_log.clear()
    session.flush()
    inserts = sql_log.matching("INSERT")
    assert 1 <= len(inserts) <= 5
    session.commit()
    rows = read_rows(Item.__table__)
    assert [(r[0], r[1], r[3]) for r in rows] == [(i, f"n{i}", i) for i in range(1, 51)]


def test_insert_with_server_generated_keys_is_batched_and_keys_match_rows(
    session, Item, sql_log, read_rows
):
    objs = [Item(name=f"n{i}", counter=i) for i in range(50)]
    session.add_all(objs)
    sql_log.clear()
    session.flush()
    inserts = sql_log.matching("INSERT")
    assert 1 <= len(inserts) <= 5
    ids = [o.id for o in objs]
    assert None not in ids and len(set(ids)) == 50
    session.commit()
    by_id = {r[0]: (r[1], r[3]) for r in read_rows(Item.__table__)}
    for o, i in zip(objs, range(50)):
        assert by_id[o.id] == (f"n{i}", i)


def test_inserts_grouped_by_column_set(session, Item, sql_log, read_rows):
    # "status" has a server default: sent only when set, so two column sets
    objs = []
    for i in range(1, 21):
        if i % 2:
            objs.append(Item(id=i, name=f"n{i}"))
        else:
            objs.append(Item(id=i, name=f"n{i}", status="set"))
    session.add_all(objs)
    sql_log.clear()
    session.flush()
    inserts = sql_log.matching("INSERT")
    assert 2 <= len(inserts) <= 6
    with_status = [i for i in inserts if "status" in i.split(")", 1)[0]]
    assert 1 <= len(with_status) < len(inserts)
    session.commit()
    rows = read_rows(Item.__table__)
    assert [r[4] for r in rows] == ["fresh" if i % 2 else "set" for i in range(1, 21)]


def test_server_generated_primary_key_assigned_and_identity_keyed(session, Item):
    it = Item(name="a")
    session.add(it)
    session.flush()
    assert isinstance(it.id, int)
    assert inspect(it).identity == (it.id,)
    assert session.get(Item, it.id) is it


def test_client_assigned_primary_key_is_used(session, Item, read_rows):
    it = Item(id=42, name="a")
    session.add(it)
    session.commit()
    assert read_rows(Item.__table__)[0][0] == 42
    assert inspect(it).identity == (42,)


def test_python_side_column_default_applied(session, Item, read_rows):
    it = Item(id=1, name="a")
    session.add(it)
    session.commit()
    assert read_rows(Item.__table__)[0][3] == 0
    assert it.counter == 0


def test_server_default_loaded_after_flush(session, Item, read_rows):
    it = Item(id=1, name="a")
    session.add(it)
    session.flush()
    assert it.status == "fresh"
    session.commit()
    assert read_rows(Item.__table__)[0][4] == "fresh"


def test_server_default_not_sent_in_insert(session, Item, sql_log):
    session.add(Item(id=1, name="a"))
    sql_log.clear()
    session.flush()
    (insert,) = sql_log.matching("INSERT")
    cols = insert.split("(", 1)[1].split(")", 1)[0]
    assert "status" not in cols


def test_sql_expression_in_insert_is_embedded_and_expired(session, Item, sql_log):
    it = Item(id=1, name=func.lower("ABC"))
    session.add(it)
    sql_log.clear()
    session.flush()
    (insert,) = sql_log.matching("INSERT")
    assert "lower(" in insert.lower()
    assert "name" in set(inspect(it).unloaded) | set(inspect(it).expired_attributes)
    assert it.name == "abc"


# --- UPDATE -----------------------------------------------------------------


def test_update_sets_only_changed_columns(session, Item, sql_log, read_rows):
    session.add(Item(id=1, name="a", note="n", counter=1))
    session.commit()
    it = session.get(Item, 1)
    it.note = "changed"
    sql_log.clear()
    session.flush()
    (update,) = sql_log.matching("UPDATE")
    assert set_columns(update) == ["note"]
    session.commit()
    assert read_rows(Item.__table__)[0][:4] == (1, "a", "changed", 1)


def test_setting_same_value_emits_no_update(session, Item, sql_log):
    session.add(Item(id=1, name="a"))
    session.commit()
    it = session.get(Item, 1)
    it.name = "a"
    sql_log.clear()
    session.flush()
    assert sql_log.matching("UPDATE") == []


def test_updates_batched_per_changed_column_set(session, Item, sql_log, read_rows):
    session.add_all([Item(id=i, name=f"n{i}", note="x") for i in range(1, 21)])
    session.commit()
    items = session.query(Item).order_by(Item.id).all()
    for it in items[:10]:
        it.name = it.name + "!"
    for it in items[10:]:
        it.note = f"y{it.id}"
    sql_log.clear()
    session.flush()
    updates = sql_log.matching("UPDATE")
    assert len(updates) == 2
    assert sorted(set_columns(u)[0] for u in updates) == ["name", "note"]
    session.commit()
    rows = read_rows(Item.__table__)
    assert rows[0][1:3] == ("n1!", "x")
    assert rows[19][1:3] == ("n20", "y20")


def test_sql_expression_in_update_is_embedded_and_reloaded(session, Item, sql_log, read_rows):
    session.add(Item(id=1, name="a", counter=5))
    session.commit()
    it = session.get(Item, 1)
    it.counter = Item.counter + 1
    sql_log.clear()
    session.flush()
    (update,) = sql_log.matching("UPDATE")
    assert set_columns(update) == ["counter"]
    assert "+" in update
    assert "counter" in set(inspect(it).unloaded) | set(inspect(it).expired_attributes)
    sql_log.clear()
    assert it.counter == 6
    assert len(sql_log.matching("SELECT")) == 1
    session.commit()
    assert read_rows(Item.__table__)[0][3] == 6


# --- DELETE -----------------------------------------------------------------


def test_deletes_are_batched(session, Item, sql_log, read_rows):
    session.add_all([Item(id=i, name="x") for i in range(1, 11)])
    session.commit()
    for it in session.query(Item).all():
        session.delete(it)
    sql_log.clear()
    session.flush()
    assert 1 <= len(sql_log.matching("DELETE")) <= 2
    session.commit()
    assert read_rows(Item.__table__) == []


# --- row counts ---------------------------------------------------------------


def test_update_of_row_deleted_elsewhere_raises_stale_data(engine, make_session, Item):
    s = make_session(expire_on_commit=False)
    it = Item(id=1, name="a")
    s.add(it)
    s.commit()
    _write_behind(engine, "DELETE FROM items WHERE id = 1")
    it.name = "b"
    with pytest.raises(exc.StaleDataError) as err:
        s.flush()
    assert "items" in str(err.value) or "Item" in str(err.value)


def test_delete_of_row_deleted_elsewhere_warns(engine, make_session, Item):
    """No version counter: the row being gone already is what was asked for; the
    flush warns (confirm_deleted_rows) and completes."""
    s = make_session(expire_on_commit=False)
    it = Item(id=1, name="a")
    s.add(it)
    s.commit()
    _write_behind(engine, "DELETE FROM items WHERE id = 1")
    s.delete(it)
    with pytest.warns(exc.SAWarning, match="items"):
        s.flush()


def test_stale_data_error_rolls_back_flush(engine, make_session, Item, read_rows):
    s = make_session(expire_on_commit=False)
    a, b = Item(id=1, name="a"), Item(id=2, name="b")
    s.add_all([a, b])
    s.commit()
    _write_behind(engine, "DELETE FROM items WHERE id = 2")
    a.name = "a2"
    b.name = "b2"
    with pytest.raises(exc.StaleDataError):
        s.flush()
    s.rollback()
    assert [r[:2] for r in read_rows(Item.__table__)] == [(1, "a")]


# --- identity conflicts ---------------------------------------------------------


def test_new_object_with_identity_of_persistent_one_raises_flush_error_before_sql(
    session, Item, sql_log
):
    session.add(Item(id=1, name="a"))
    session.commit()
    existing = session.get(Item, 1)
    dup = Item(id=1, name="dup")
    session.add(dup)
    sql_log.clear()
    with pytest.raises(exc.FlushError) as err:
        session.flush()
    assert sql_log.matching("INSERT") == []
    assert sql_log.matching("UPDATE") == []
    assert existing.name  # noqa: B018
    assert "1" in str(err.value)


def test_two_new_objects_with_one_identity_raise_flush_error_before_sql(session, Item, sql_log):
    session.add_all([Item(id=7, name="a"), Item(id=7, name="b")])
    sql_log.clear()
    with pytest.raises(exc.FlushError):
        session.flush()
    assert sql_log.matching("INSERT") == []


# --- determinism -----------------------------------------------------------------


def test_same_session_contents_emit_same_statements_in_same_order(
    engine, make_session, Item, sql_log
):
    rng = random.Random(1234)
    runs = []
    for _attempt in range(4):
        s = make_session()
        s.add_all([Item(id=i, name=f"old{i}", note="n") for i in range(100, 120)])
        s.commit()
        existing = s.query(Item).all()
        rng.shuffle(existing)
        for it in existing:
            if it.id % 3 == 0:
                it.name = f"upd{it.id}"
            elif it.id % 3 == 1:
                it.note = f"note{it.id}"
            else:
                s.delete(it)
        new = []
        for i in range(1, 21):
            if i % 2:
                new.append(Item(id=500 + i, name=f"new{i}"))
            else:
                new.append(Item(id=500 + i, name=f"new{i}", note="z", counter=i))
        new.append(Item(name="serial-a"))
        new.append(Item(name="serial-b", note="q"))
        rng.shuffle(new)
        for obj in new:
            s.add(obj)
        sql_log.clear()
        s.flush()
        runs.append(list(sql_log.statements))
        s.rollback()
        s.execute(text("DELETE FROM items"))
        s.commit()
        s.close()
    assert runs[0], "flush emitted no statements"
    for other in runs[1:]:
        assert other == runs[0]


# --- primary key changes and backend quirks ------------------------------------


def test_primary_key_change_updates_row_and_identity(session, Item, sql_log, read_rows):
    session.add(Item(id=1, name="a"))
    session.commit()
    it = session.get(Item, 1)
    it.id = 2
    sql_log.clear()
    session.flush()
    (update,) = sql_log.matching("UPDATE")
    assert set_columns(update) == ["id"]
    assert inspect(it).identity == (2,)
    assert session.get(Item, 2) is it
    session.commit()
    assert [r[0] for r in read_rows(Item.__table__)] == [2]
    assert session.get(Item, 1) is None


def test_rollback_undoes_primary_key_switch(session, Item, read_rows):
    session.add(Item(id=1, name="a"))
    session.commit()
    it = session.get(Item, 1)
    it.id = 2
    session.flush()
    session.rollback()
    assert inspect(it).identity == (1,)
    assert session.get(Item, 1) is it
    assert it.id == 1
    assert [r[0] for r in read_rows(Item.__table__)] == [1]


def test_explicit_primary_key_zero_is_stored_as_zero_or_rejected(session, Item, read_rows):
    # MariaDB turns an explicit 0 into the next AUTO_INCREMENT value unless
    # NO_AUTO_VALUE_ON_ZERO is set: the session must never hold identity 0
    # for a row stored under another key.
    it = Item(id=0, name="zero")
    try:
        session.add(it)
        session.commit()
    except exc.SQLAlchemyError:
        session.rollback()
        assert read_rows(Item.__table__) == []
        return
    rows = read_rows(Item.__table__)
    assert [r[0] for r in rows] == [0]
    assert inspect(it).identity == (0,)
    assert it.id == 0


def test_update_that_changes_nothing_in_database_is_not_stale(engine, make_session, Item,
                                                               sql_log, read_rows):
    # the row matches but its value is already the new one: drivers that
    # report "changed" rather than "matched" rows must not trigger StaleDataError
    s = make_session(expire_on_commit=False)
    it = Item(id=1, name="a")
    s.add(it)
    s.commit()
    _write_behind(engine, "UPDATE items SET name = 'b' WHERE id = 1")
    it.name = "b"
    sql_log.clear()
    s.flush()  # raised StaleDataError where the driver counted changed rows
    assert len(sql_log.matching("UPDATE items")) == 1  # the UPDATE was sent
    s.commit()
    assert [r[:2] for r in read_rows(Item.__table__)] == [(1, "b")]


def test_executemany_update_of_many_rows_checks_row_counts(engine, make_session, Item):
    s = make_session(expire_on_commit=False)
    objs = [Item(id=i, name="x") for i in range(1, 6)]
    s.add_all(objs)
    s.commit()
    _write_behind(engine, "DELETE FROM items WHERE id = 3")
    for o in objs:
        o.name = "y"
    with pytest.raises(exc.StaleDataError):
        s.flush()


def test_batched_insert_with_server_keys_and_server_defaults(session, Item, read_rows):
    objs = [Item(name=f"n{i}", note=str(i)) for i in range(30)]
    session.add_all(objs)
    session.flush()
    assert [o.status for o in objs] == ["fresh"] * 30
    session.commit()
    by_id = {r[0]: (r[1], r[2], r[4]) for r in read_rows(Item.__table__)}
    for i, o in enumerate(objs):
        assert by_id[o.id] == (f"n{i}", str(i), "fresh")
