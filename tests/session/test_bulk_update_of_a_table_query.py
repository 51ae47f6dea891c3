"""``session.query(some_table).update({...})`` / ``.delete()``: a Core table selected as
the query's entity gets one criteria UPDATE / DELETE of that table, as SQLAlchemy's
Query runs it (was refused: "the query must select one mapped class").  No mapped
objects are synchronized (SQLAlchemy's neither); a column the table lacks is refused
by name; columns or several entities still are refused."""

import pytest
from sqlalchemy import Column, Integer, String, Table, insert, select

from datamapper import event, exc


@pytest.fixture
def things(metadata, engine):
    t = Table("bt_things", metadata, Column("id", Integer, primary_key=True),
              Column("x", String(10)))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(t), [{"id": 1, "x": "a"}, {"id": 2, "x": "b"}, {"id": 3, "x": "c"}])
    return t


def _rows(engine, t):
    with engine.connect() as conn:
        return conn.execute(select(t.c.id, t.c.x).order_by(t.c.id)).all()


@pytest.mark.parametrize("sync", ["evaluate", "fetch", "auto", False])
def test_update_of_a_table_query(things, session, engine, sync, sql_log):
    t = things
    n = session.query(t).filter(t.c.id == 1).update({"x": "z"}, synchronize_session=sync)
    assert n == 1
    n = session.query(t).filter_by(id=2).update({t.c.x: "y"}, synchronize_session=sync)
    assert n == 1
    assert sql_log.statements[-1].startswith("UPDATE bt_things SET x=")
    session.commit()
    assert _rows(engine, t) == [(1, "z"), (2, "y"), (3, "c")]


def test_delete_of_a_table_query(things, session, engine):
    t = things
    assert session.query(t).filter(t.c.id > 2).delete() == 1
    assert session.query(t).filter(t.c.x == "a").delete(synchronize_session="fetch") == 1
    session.commit()
    assert _rows(engine, t) == [(2, "b")]


def test_update_of_an_alias_query(things, session, engine):
    # (MariaDB has no alias in a DELETE: Core's statement fails there, as SQLAlchemy's)
    a = things.alias()
    assert session.query(a).filter(a.c.id < 3).update({a.c.x: "w"}) == 2
    session.commit()
    assert _rows(engine, things) == [(1, "w"), (2, "w"), (3, "c")]


def test_events_and_bad_input(things, session, engine):
    t = things
    seen = []
    event.listen(session, "after_bulk_update", lambda ctx: seen.append(ctx.rowcount))
    assert session.query(t).update({"x": "q"}) == 3
    assert seen == [3]
    with pytest.raises(exc.ArgumentError, match="'nope' of table bt_things"):
        session.query(t).update({"nope": 1})
    with pytest.raises(exc.InvalidRequestError, match="one mapped class or one table"):
        session.query(t.c.id).delete()
    with pytest.raises(exc.InvalidRequestError, match="order_by"):
        session.query(t).order_by(t.c.id).delete()
    with pytest.raises(exc.InvalidRequestError, match="synchronize"):
        session.query(t).delete(synchronize_session="bogus")
    session.rollback()
    assert _rows(engine, t) == [(1, "a"), (2, "b"), (3, "c")]
