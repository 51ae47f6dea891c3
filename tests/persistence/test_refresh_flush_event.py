"""The instance event ``refresh_flush(target, flush_context, attrs)``: after an INSERT
or UPDATE the flush put values into the object that the program did not set
(Python-side column ``default``/``onupdate``, a generated version number); the
listener gets the names of those attributes, between ``before_*`` and ``after_*``.
A flush that computes nothing for the object fires nothing."""

import itertools

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import event


@pytest.fixture
def Counter(Base, engine):
    class Counter(Base):
        __tablename__ = "counters"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        created = Column(Integer, default=5)
        touched = Column(Integer, default=1, onupdate=10)

    Base.metadata.create_all(engine)
    return Counter


@pytest.fixture
def calls(Counter):
    seen = []

    def before_insert(mapper, conn, target):
        seen.append(("before_insert", target))

    def refresh_flush(target, flush_context, attrs):
        seen.append(("refresh_flush", target, sorted(attrs), dict(
            (k, target.__dict__.get(k)) for k in attrs)))

    def after_insert(mapper, conn, target):
        seen.append(("after_insert", target))

    def after_update(mapper, conn, target):
        seen.append(("after_update", target))

    event.listen(Counter, "before_insert", before_insert)
    event.listen(Counter, "refresh_flush", refresh_flush)
    event.listen(Counter, "after_insert", after_insert)
    event.listen(Counter, "after_update", after_update)
    return seen


@pytest.mark.parametrize("count", [1, 3])
def test_insert_reports_the_defaulted_attributes(Counter, calls, make_session, read_rows,
                                                 count):
    s = make_session()
    objs = [Counter(name=f"c{i}") for i in range(count)]
    objs[0].touched = 7  # given by the program: not reported
    s.add_all(objs)
    s.flush()
    refreshed = [c for c in calls if c[0] == "refresh_flush"]
    assert refreshed[0][1:] == (objs[0], ["created"], {"created": 5})
    for c, obj in zip(refreshed[1:], objs[1:], strict=True):
        assert c[1:] == (obj, ["created", "touched"], {"created": 5, "touched": 1})
    order = [name for name, *_ in calls]
    assert order.index("refresh_flush") < order.index("after_insert")
    s.commit()
    rows = sorted(r[1:] for r in read_rows(Counter.__table__))
    assert rows == [("c0", 5, 7)] + [(f"c{i}", 5, 1) for i in range(1, count)]


def test_update_reports_the_onupdate_attribute(Counter, calls, make_session, read_rows):
    s = make_session()
    c = Counter(name="a", created=1, touched=2)
    s.add(c)
    s.flush()
    assert [x for x in calls if x[0] == "refresh_flush"] == []  # every column was given
    c.name = "b"
    s.flush()
    assert calls[-2:] == [("refresh_flush", c, ["touched"], {"touched": 10}),
                          ("after_update", c)]
    c.name = "c"
    c.touched = 3  # set by the program: onupdate does not apply, nothing to report
    s.flush()
    assert calls[-1] == ("after_update", c)
    s.commit()
    assert read_rows(Counter.__table__) == [(1, "c", 1, 3)]


def test_generated_version_number_is_reported(Base, engine, make_session):
    numbers = itertools.count(100)

    class Doc(Base):
        __tablename__ = "docs"
        id = Column(Integer, primary_key=True)
        body = Column(String(50))
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version,
                           "version_id_generator": lambda v: next(numbers)}

    Base.metadata.create_all(engine)
    seen = []
    event.listen(Doc, "refresh_flush", lambda t, ctx, attrs: seen.append(sorted(attrs)))
    s = make_session()
    d = Doc(id=1, body="x")
    s.add(d)
    s.flush()
    d.body = "y"
    s.flush()
    assert seen == [["version"], ["version"]]
    assert d.version == 101


def test_no_listener_no_cost_path_still_applies_defaults(Counter, make_session, read_rows):
    s = make_session()
    s.add_all([Counter(name="x"), Counter(name="y")])
    s.commit()
    assert read_rows(Counter.__table__) == [(1, "x", 5, 1), (2, "y", 5, 1)]


def test_joined_inheritance_reports_the_base_table_defaults(Base, engine, make_session,
                                                            read_rows):
    """An object of a joined-table subclass: the defaults and onupdates of its base
    table's columns are reported as for a plain mapper (to a listener given to the base
    with propagate=True and to one given to the subclass)."""

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        kind = Column(String(20))
        name = Column(String(50))
        extra = Column(Integer, default=5, onupdate=10)
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "item"}

    class Book(Item):
        __tablename__ = "books"
        id = Column(Integer, ForeignKey("items.id"), primary_key=True)
        title = Column(String(50))
        stamp = Column(Integer, onupdate=7)
        __mapper_args__ = {"polymorphic_identity": "book"}

    Base.metadata.create_all(engine)
    seen = []
    event.listen(Item, "refresh_flush",
                 lambda t, ctx, attrs: seen.append(("base", sorted(attrs))), propagate=True)
    event.listen(Book, "refresh_flush", lambda t, ctx, attrs: seen.append(("sub", sorted(attrs))))
    s = make_session()
    b = Book(name="n", title="t")
    s.add(b)
    s.flush()
    assert seen == [("base", ["extra"]), ("sub", ["extra"])]
    del seen[:]
    b.name = "n2"  # an UPDATE of the base table only
    s.flush()
    assert seen == [("base", ["extra"]), ("sub", ["extra"])]
    del seen[:]
    b.title = "t2"  # an UPDATE of the subclass table only
    s.flush()
    assert seen == [("base", ["stamp"]), ("sub", ["stamp"])]
    s.commit()
    assert [r[1:] for r in read_rows(Item.__table__)] == [("book", "n2", 10)]
    assert [r[1:] for r in read_rows(Book.__table__)] == [("t2", 7)]
