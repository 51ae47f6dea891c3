"""A SQL expression as a primary-key value: written inside the INSERT or UPDATE,
the resulting key read back (RETURNING, or one SELECT of the expression where the
statement cannot return it) and the identity map filed under the real key."""

import pytest
from sqlalchemy import Column, Integer, String, func, literal, select, text

from datamapper import exc, inspect


@pytest.fixture
def Item(Base, engine):
    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(50))

    Base.metadata.create_all(engine)
    return Item


def _next_id(Item):
    return select(func.max(Item.id) + 1).scalar_subquery()


KEY_EXPRESSIONS = {
    "scalar_subquery": lambda Item: _next_id(Item),
    "literal": lambda Item: literal(40) + 2,
    "text": lambda Item: text("42"),
}


def _seed(s, Item):
    s.add(Item(id=41, name="first"))
    s.commit()


@pytest.mark.parametrize("kind", list(KEY_EXPRESSIONS))
def test_insert_with_sql_expression_key_files_the_real_key(
        Item, make_session, read_rows, sql_log, kind):
    s = make_session()
    _seed(s, Item)
    obj = Item(name="new")
    obj.id = KEY_EXPRESSIONS[kind](Item)
    s.add(obj)
    sql_log.clear()
    s.flush()
    assert obj.__dict__["id"] == 42  # known without loading
    assert inspect(obj).identity == (42,)
    assert s.get(Item, 42) is obj
    assert len(sql_log.matching("INSERT")) == 1
    s.commit()
    assert read_rows("SELECT id, name FROM items ORDER BY id") == [(41, "first"), (42, "new")]


@pytest.mark.parametrize("kind", list(KEY_EXPRESSIONS))
def test_update_of_key_to_sql_expression_refiles_the_object(
        Item, make_session, read_rows, kind):
    s = make_session()
    _seed(s, Item)
    obj = s.get(Item, 41)
    obj.id = KEY_EXPRESSIONS[kind](Item)
    obj.name = "moved"
    s.flush()
    assert obj.__dict__["id"] == 42
    assert inspect(obj).identity == (42,)
    assert s.get(Item, 42) is obj
    s.commit()
    assert read_rows("SELECT id, name FROM items") == [(42, "moved")]


def test_key_expression_in_a_composite_key(Base, engine, make_session, read_rows):
    class Cell(Base):
        __tablename__ = "cells"
        row = Column(Integer, primary_key=True, autoincrement=False)
        col = Column(Integer, primary_key=True, autoincrement=False)
        value = Column(String(10))

    Base.metadata.create_all(engine)
    s = make_session()
    c = Cell(row=1, value="x")
    c.col = literal(3) * 3
    s.add(c)
    s.flush()
    assert inspect(c).identity == (1, 9)
    assert s.get(Cell, (1, 9)) is c
    s.commit()
    assert read_rows("SELECT row, col, value FROM cells") == [(1, 9, "x")]


@pytest.mark.parametrize("verb", ["insert", "update"])
def test_key_expression_without_returning_is_evaluated_first(
        Base, engine_factory, make_session, read_rows, sql_log, verb):
    eng = engine_factory()
    eng.dialect.insert_returning = False
    eng.dialect.update_returning = False

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(50))

    Base.metadata.create_all(eng)
    s = make_session(bind=eng)
    _seed(s, Item)
    if verb == "insert":
        obj = Item(name="new", id=_next_id(Item))
        s.add(obj)
    else:
        obj = s.get(Item, 41)
        obj.id = _next_id(Item)
    s.flush()
    assert inspect(obj).identity == (42,)
    assert s.get(Item, 42) is obj
    s.commit()
    assert [r[0] for r in read_rows("SELECT id FROM items ORDER BY id")] == (
        [41, 42] if verb == "insert" else [42])


def test_failed_flush_puts_the_key_expression_back(Item, make_session, read_rows):
    s = make_session(expire_on_commit=False)
    _seed(s, Item)
    clash = Item(id=50, name="other")
    s.add(clash)
    s.commit()
    expr = literal(40) + 2
    obj = Item(name="new", id=expr)
    s.add(obj)
    clash.id = 41  # the UPDATE after the INSERT fails
    with pytest.raises(exc.IntegrityError):
        s.flush()
    assert obj.__dict__["id"] is expr
    s.rollback()
    assert inspect(obj).transient
    assert [r[0] for r in read_rows("SELECT id FROM items ORDER BY id")] == [41, 50]


def test_non_key_sql_expression_is_embedded_and_expired(Item, make_session, read_rows,
                                                        sql_log):
    s = make_session()
    obj = Item(id=1, name=func.upper("low"))
    s.add(obj)
    s.flush()
    assert "name" not in obj.__dict__
    assert obj.name == "LOW"
    obj.name = func.lower("HIGH")
    s.flush()
    assert "name" not in obj.__dict__
    assert obj.name == "high"
    s.commit()
    assert read_rows("SELECT id, name FROM items") == [(1, "high")]
