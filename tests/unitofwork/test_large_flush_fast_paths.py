"""The quick paths of a large flush give the same rows and object states as the general
ones: delete() of a persistent object of a class without a delete cascade, the
delete cascade followed again at the flush only for the classes that have one, the
INSERT rows read all at once when every new object has the common shape (and one by
one otherwise), a float column's bind processing skipped only for float values, and
the post-UPDATE settling of key changes and deleted attributes among many plain
changes.  Checked by the rows the database holds and the objects' states."""

import gc
import threading
from decimal import Decimal

import pytest
from sqlalchemy import Column, Float, ForeignKey, Integer, String, func, select
from sqlalchemy.exc import IntegrityError

from datamapper import Session, declarative_base, inspect, relationship
from datamapper.exc import SessionConcurrencyError


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class Item(Base):
        __tablename__ = "fp_items"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False)
        score = Column(Float)
        value = Column(Integer, default=7)

    class Parent(Base):
        __tablename__ = "fp_parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        children = relationship("Child", cascade="all, delete-orphan")

    class Child(Base):
        __tablename__ = "fp_children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("fp_parents.id"))
        name = Column(String(50))

    class Versioned(Base):
        __tablename__ = "fp_versioned"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}

    metadata.create_all(engine)
    return Item, Parent, Child, Versioned


def _seed(engine, Item, n):
    with Session(engine) as s:
        s.add_all([Item(name=f"i{i}", score=i / 4, value=i) for i in range(1, n + 1)])
        s.commit()


# -- INSERT ---------------------------------------------------------------------------
def test_a_batch_of_common_rows_gets_keys_in_the_order_added(engine, models, read_rows):
    Item = models[0]
    objs = [Item(name=f"n{i}", score=i / 2, value=i) for i in range(1, 301)]
    with Session(engine) as s:
        s.add_all(objs)
        s.commit()
        ids = [inspect(o).identity[0] for o in objs]
    assert ids == sorted(ids) and len(set(ids)) == 300
    rows = {r[0]: r[1:] for r in read_rows(Item.__table__)}
    for i, pk in enumerate(ids, 1):
        assert rows[pk] == (f"n{i}", i / 2, i)


@pytest.mark.parametrize("odd", ["sql", "key", "unset", "none_default"])
def test_one_row_of_another_shape_in_a_batch(engine, models, read_rows, odd):
    """One object that is not of the common shape, in the middle of the batch: the rows
    are sorted one by one, each gets the values (and default) it should."""
    Item = models[0]
    objs = [Item(name=f"n{i}", score=1.5, value=i) for i in range(1, 201)]
    other = objs[100]
    if odd == "sql":
        other.value = func.abs(-41)
    elif odd == "key":
        other.id = 9000
    elif odd == "unset":
        del other.__dict__["value"]
    else:
        other.value = None  # a column default applies to an explicit None
    with Session(engine) as s:
        s.add_all(objs)
        s.commit()
        ids = [inspect(o).identity[0] for o in objs]
        assert other.value == {"sql": 41, "key": 101, "unset": 7, "none_default": 7}[odd]
    rows = {r[0]: r[1:] for r in read_rows(Item.__table__)}
    assert len(rows) == 200
    for i, (o, pk) in enumerate(zip(objs, ids, strict=True), 1):
        want = {"sql": 41, "key": 101, "unset": 7, "none_default": 7}[odd] if o is other else i
        assert rows[pk] == (f"n{i}", 1.5, want)
    plain = [pk for o, pk in zip(objs, ids, strict=True) if o is not other]
    assert plain == sorted(plain)  # the generated keys follow the order of add_all()


def test_float_column_values_that_are_not_floats_are_still_converted(
        engine, models, read_rows):
    """A Decimal or int among floats goes through the column type's processing (the
    SQLite driver can't take a Decimal); None stays NULL."""
    Item = models[0]
    scores = [0.25 * i for i in range(150)] + [Decimal("2.5"), 3, None] + [1.0] * 50
    objs = [Item(name=f"f{i}", score=v, value=i) for i, v in enumerate(scores)]
    with Session(engine) as s:
        s.add_all(objs)
        s.commit()
    got = [r[2] for r in read_rows(Item.__table__)]
    assert got == [None if v is None else float(v) for v in scores]
    assert all(v is None or type(v) is float for v in got)


# -- UPDATE ---------------------------------------------------------------------------
def test_key_change_and_deleted_attribute_among_plain_updates(engine, models, read_rows):
    Item = models[0]
    _seed(engine, Item, 50)
    with Session(engine) as s:
        objs = s.scalars(select(Item).order_by(Item.id)).all()
        for o in objs:
            o.value += 100
        objs[10].id = 1000  # a key change: the object moves in the identity map
        del objs[20].score  # written as NULL, reads back as None without SQL
        s.flush()
        assert s.get(Item, 1000) is objs[10] and inspect(objs[10]).identity == (1000,)
        assert objs[20].score is None
        assert not s.dirty
        s.commit()
    rows = {r[0]: r[1:] for r in read_rows(Item.__table__)}
    assert 11 not in rows and rows[1000] == ("i11", 11 / 4, 111)
    assert rows[21] == ("i21", None, 121)
    assert rows[1] == ("i1", 0.25, 101) and len(rows) == 50


# -- DELETE ---------------------------------------------------------------------------
def test_delete_marks_and_rollback_restores(engine, models, read_rows):
    Item = models[0]
    _seed(engine, Item, 20)
    with Session(engine) as s:
        objs = s.scalars(select(Item).order_by(Item.id)).all()
        for o in objs[::2]:
            s.delete(o)
            s.delete(o)  # marked once
        assert set(s.deleted) == set(objs[::2]) and len(s.deleted) == 10
        s.rollback()
        assert not s.deleted and all(o in s for o in objs)
        for o in objs[::2]:
            s.delete(o)
        s.commit()
        assert all(inspect(o).was_deleted and inspect(o).detached for o in objs[::2])
    assert [r[0] for r in read_rows(Item.__table__)] == list(range(2, 21, 2))


def test_delete_without_a_transaction_and_of_a_detached_object(engine, models, read_rows):
    """delete() before anything began the transaction (it autobegins), and of an object
    of another, closed session (it is attached first)."""
    Item = models[0]
    _seed(engine, Item, 3)
    with Session(engine) as first:
        detached = first.get(Item, 3)
    s = Session(engine)
    try:
        a = s.get(Item, 1)
        s.commit()  # no transaction now
        assert not s.in_transaction()
        s.delete(a)
        assert s.in_transaction() and a in s.deleted
        s.delete(detached)
        assert detached in s and detached in s.deleted
        s.commit()
    finally:
        s.close()
    assert read_rows(Item.__table__) == [(2, "i2", 0.5, 2)]


def test_delete_of_a_new_object_is_refused(engine, models):
    Item = models[0]
    with Session(engine) as s:
        s.begin()
        obj = Item(name="new")
        s.add(obj)
        with pytest.raises(Exception, match="not persisted"):
            s.delete(obj)


def test_delete_cascade_at_flush_among_objects_of_a_class_without_one(
        engine, models, read_rows):
    """Children attached to a deleted parent after delete() are deleted with it, while
    many objects of a class without a delete cascade are deleted in the same flush."""
    Item, Parent, Child, _V = models
    _seed(engine, Item, 30)
    with Session(engine) as s:
        s.add(Parent(id=1, name="p", children=[Child(id=1, name="c1")]))
        s.commit()
        items = s.scalars(select(Item)).all()
        p = s.get(Parent, 1)
        for o in items[:15]:
            s.delete(o)
        s.delete(p)
        p.children.append(Child(id=2, name="late"))
        for o in items[15:]:
            s.delete(o)
        s.commit()
    assert read_rows(Item.__table__) == []
    assert read_rows(Parent.__table__) == [] and read_rows(Child.__table__) == []


def test_delete_of_versioned_rows_checks_the_version(engine, models, read_rows):
    Versioned = models[3]
    with Session(engine) as s:
        s.add_all([Versioned(id=i, name=f"v{i}") for i in range(1, 6)])
        s.commit()
        objs = s.scalars(select(Versioned).order_by(Versioned.id)).all()
        for o in objs:
            s.delete(o)
        s.commit()
    assert read_rows(Versioned.__table__) == []


def test_delete_with_a_weak_identity_map_keeps_the_objects_alive(engine, models, read_rows):
    Item = models[0]
    _seed(engine, Item, 10)
    with Session(engine, weak_identity_map=True) as s:
        victims = s.scalars(select(Item).order_by(Item.id)).all()
        ids = [o.id for o in victims]
        for o in victims[:5]:
            s.delete(o)
        del victims, o  # only the session holds the deleted ones now
        gc.collect()
        assert len(s.deleted) == 5
        s.commit()
    assert [r[0] for r in read_rows(Item.__table__)] == ids[5:]


def test_delete_from_a_second_thread_inside_the_session_is_refused(engine, models, read_rows):
    Item = models[0]
    _seed(engine, Item, 2)
    s = Session(engine)
    try:
        victim = s.get(Item, 2)
        inside, release = threading.Event(), threading.Event()

        from datamapper import event

        @event.listens_for(s, "before_flush")
        def _wait(session, ctx, instances):
            inside.set()
            release.wait(10)

        s.get(Item, 1).value = 50
        t = threading.Thread(target=s.flush, name="flusher")
        t.start()
        assert inside.wait(10)
        try:
            with pytest.raises(SessionConcurrencyError, match="'flusher'"):
                s.delete(victim)
        finally:
            release.set()
            t.join(10)
        assert victim not in s.deleted
        s.commit()
    finally:
        s.close()
    assert [r[0] for r in read_rows(Item.__table__)] == [1, 2]


# -- a failed flush -------------------------------------------------------------------
def test_failed_flush_takes_back_only_the_generated_keys(engine, models, read_rows):
    """Parents are inserted (keys generated, one given), then a child's INSERT fails:
    the generated keys leave the objects, the given one stays, and the flush can be
    retried once the child is fixed."""
    Item, Parent, Child, _V = models
    parents = [Parent(name=f"p{i}") for i in range(5)]
    given = Parent(id=77, name="given")
    with Session(engine) as other:
        other.add(Parent(id=1000, name="other", children=[Child(id=1, name="taken")]))
        other.commit()
    bad = Child(id=1, name="bad")  # its key is taken: the INSERT fails
    parents[2].children.append(bad)
    items = [Item(name=f"i{i}", score=1.0) for i in range(3)]
    s = Session(engine)
    try:
        s.add_all([*parents, given, *items])
        with pytest.raises(IntegrityError):
            s.flush()
        assert all(p.__dict__.get("id") is None for p in parents)
        assert all(i.__dict__.get("id") is None for i in items)
        assert given.id == 77
        s.rollback()
        bad.id = 2
        s.add_all([*parents, given, *items])
        s.commit()
    finally:
        s.close()
    assert len(read_rows(Parent.__table__)) == 7 and len(read_rows(Item.__table__)) == 3
    assert len(read_rows(Child.__table__)) == 2
