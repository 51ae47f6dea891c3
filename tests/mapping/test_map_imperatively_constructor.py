"""registry.map_imperatively() gives a class without its own __init__ the
registry's keyword constructor; a class that has one keeps it."""

import pytest
from sqlalchemy import Column, Integer, String, Table

from datamapper import registry


def _things_table(reg):
    return Table(
        "things",
        reg.metadata,
        Column("id", Integer, primary_key=True),
        Column("label", String(30)),
    )


def test_imperative_class_without_init_accepts_column_keywords(engine, make_session, read_rows):
    reg = registry()
    things = _things_table(reg)

    class Thing:
        pass

    reg.map_imperatively(Thing, things)
    reg.metadata.create_all(engine)
    s = make_session()
    s.add(Thing(id=1, label="one"))
    s.commit()
    assert read_rows(things) == [(1, "one")]


def test_imperative_keyword_constructor_rejects_unknown_keyword():
    reg = registry()

    class Thing:
        pass

    reg.map_imperatively(Thing, _things_table(reg))
    with pytest.raises(TypeError, match="nope"):
        Thing(nope=1)


def test_imperative_class_keeps_its_own_init(engine, make_session, read_rows):
    reg = registry()
    things = _things_table(reg)

    class Thing:
        def __init__(self, label):
            self.label = label.upper()

    reg.map_imperatively(Thing, things)
    reg.metadata.create_all(engine)
    s = make_session()
    s.add(Thing("two"))
    s.commit()
    assert read_rows(things) == [(1, "TWO")]
    with pytest.raises(TypeError):
        Thing(label="x", id=3)


def test_imperative_subclass_inherits_base_init(engine, make_session, read_rows):
    reg = registry()
    things = _things_table(reg)

    class Base:
        def __init__(self, **kw):
            self.label = "base:" + kw["label"]

    class Thing(Base):
        pass

    reg.map_imperatively(Thing, things)
    reg.metadata.create_all(engine)
    s = make_session()
    s.add(Thing(label="x"))
    s.commit()
    assert read_rows(things) == [(1, "base:x")]
