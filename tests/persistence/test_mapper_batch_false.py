"""``mapper(..., batch=False)``: each row's before_/after_ insert, update and delete events
run around that row's own statement (before 1, SQL 1, after 1, before 2, ...); with the
default batch=True all before events run, then the batched statements, then all after
events."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, event

from datamapper import event as dm_event
from datamapper import relationship
from datamapper.exc import StaleDataError

_VERBS = ("INSERT", "UPDATE", "DELETE")


def _model(Base, engine, batch, versioned=False, name="items"):
    attrs = {
        "__tablename__": name,
        "id": Column(Integer, primary_key=True),
        "label": Column(String(30)),
    }
    args = {"batch": batch}
    if versioned:
        attrs["ver"] = Column(Integer, nullable=False)
        args["version_id_col"] = attrs["ver"]
    attrs["__mapper_args__"] = args
    cls = type("Item", (Base,), attrs)
    Base.metadata.create_all(engine)
    return cls


@pytest.fixture
def recorder(engine):
    """One list of mapper events and write statements, in the order they happened."""
    log = []

    def on_sql(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in _VERBS:
            rows = len(parameters) if executemany else 1
            log.append(f"{verb}x{rows}")

    event.listen(engine, "before_cursor_execute", on_sql)
    yield log
    event.remove(engine, "before_cursor_execute", on_sql)


def _listen(cls, log):
    for name in ("before_insert", "after_insert", "before_update", "after_update",
                 "before_delete", "after_delete"):
        def handler(mapper, connection, target, _name=name):
            log.append(f"{_name}({target.label})")
        dm_event.listen(cls, name, handler)


def _rows(s, cls, count):
    objs = [cls(id=i, label=str(i)) for i in range(1, count + 1)]
    s.add_all(objs)
    return objs


def test_batch_false_runs_insert_events_around_each_row_statement(
        Base, engine, make_session, recorder, read_rows):
    Item = _model(Base, engine, batch=False)
    _listen(Item, recorder)
    s = make_session()
    _rows(s, Item, 3)
    s.commit()
    assert recorder == [
        "before_insert(1)", "INSERTx1", "after_insert(1)",
        "before_insert(2)", "INSERTx1", "after_insert(2)",
        "before_insert(3)", "INSERTx1", "after_insert(3)",
    ]
    assert read_rows(Item.__table__) == [(1, "1"), (2, "2"), (3, "3")]


def test_batch_false_after_insert_sees_its_generated_key(Base, engine, make_session):
    Item = _model(Base, engine, batch=False)
    seen = []
    dm_event.listen(Item, "before_insert", lambda m, c, t: seen.append(("before", t.id)))
    dm_event.listen(Item, "after_insert", lambda m, c, t: seen.append(("after", t.id)))
    s = make_session()
    s.add_all([Item(label="a"), Item(label="b")])
    s.commit()
    assert [k for k, _ in seen] == ["before", "after", "before", "after"]
    assert seen[0][1] is None and seen[1][1] is not None
    assert seen[2][1] is None and seen[3][1] is not None and seen[3][1] != seen[1][1]


def test_batch_false_runs_update_and_delete_events_around_each_row_statement(
        Base, engine, make_session, recorder, read_rows):
    Item = _model(Base, engine, batch=False)
    s = make_session()
    objs = _rows(s, Item, 3)
    s.commit()
    _listen(Item, recorder)
    for o in objs:
        o.label = o.label  # loads after the commit's expiry
    recorder.clear()
    for o in objs[:2]:
        o.label += "x"
    s.delete(objs[2])
    s.commit()
    assert recorder == [
        "before_update(1x)", "UPDATEx1", "after_update(1x)",
        "before_update(2x)", "UPDATEx1", "after_update(2x)",
        "before_delete(3)", "DELETEx1", "after_delete(3)",
    ]
    assert read_rows(Item.__table__) == [(1, "1x"), (2, "2x")]


def test_batch_false_deletes_one_row_per_statement(Base, engine, make_session, recorder):
    Item = _model(Base, engine, batch=False)
    s = make_session()
    objs = _rows(s, Item, 3)
    s.commit()
    _listen(Item, recorder)
    for o in objs:
        s.delete(o)
    recorder.clear()
    s.commit()
    assert recorder == [
        "before_delete(1)", "DELETEx1", "after_delete(1)",
        "before_delete(2)", "DELETEx1", "after_delete(2)",
        "before_delete(3)", "DELETEx1", "after_delete(3)",
    ]


def test_batch_true_keeps_events_around_the_batch(Base, engine, make_session, recorder):
    Item = _model(Base, engine, batch=True)
    _listen(Item, recorder)
    s = make_session()
    objs = _rows(s, Item, 3)
    s.commit()
    assert recorder == ["before_insert(1)", "before_insert(2)", "before_insert(3)",
                        "INSERTx3", "after_insert(1)", "after_insert(2)", "after_insert(3)"]
    labels = [o.label for o in objs]  # load the expired objects first
    recorder.clear()
    for o, label in zip(objs, labels):
        o.label = label + "y"
    s.commit()
    assert recorder == ["before_update(1y)", "before_update(2y)", "before_update(3y)",
                        "UPDATEx3", "after_update(1y)", "after_update(2y)", "after_update(3y)"]


def test_batch_false_change_made_in_before_insert_of_next_row_is_written(
        Base, engine, make_session, read_rows):
    Item = _model(Base, engine, batch=False)
    written = []

    def before(mapper, connection, target):
        # the previous row is already in the database when the next row's event runs
        written.append(connection.exec_driver_sql("SELECT COUNT(*) FROM items").scalar())
        target.label = f"{target.label}@{written[-1]}"

    dm_event.listen(Item, "before_insert", before)
    s = make_session()
    _rows(s, Item, 3)
    s.commit()
    assert written == [0, 1, 2]
    assert read_rows(Item.__table__) == [(1, "1@0"), (2, "2@1"), (3, "3@2")]


def test_batch_false_versioned_rows_each_checked(Base, engine, make_session, read_rows,
                                                 recorder):
    Item = _model(Base, engine, batch=False, versioned=True)
    s = make_session(expire_on_commit=False)
    objs = _rows(s, Item, 3)
    s.commit()
    with engine.begin() as conn:
        conn.execute(Item.__table__.update().where(Item.__table__.c.id == 2)
                     .values(ver=Item.__table__.c.ver + 1))
    for o in objs:
        o.label = "z"
    recorder.clear()
    with pytest.raises(StaleDataError):
        s.commit()
    assert recorder == ["UPDATEx1", "UPDATEx1"]
    s.rollback()
    assert read_rows(Item.__table__) == [(1, "1", 1), (2, "2", 2), (3, "3", 1)]


def test_batch_false_on_child_keeps_parent_first_order(Base, engine, make_session, recorder):
    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        label = Column(String(30))
        kids = relationship("Kid")
        __mapper_args__ = {"batch": False}

    class Kid(Base):
        __tablename__ = "kids"
        id = Column(Integer, primary_key=True)
        label = Column(String(30))
        parent_id = Column(ForeignKey("parents.id"))
        __mapper_args__ = {"batch": False}

    Base.metadata.create_all(engine)
    _listen(Parent, recorder)
    _listen(Kid, recorder)
    s = make_session()
    s.add(Parent(label="p", kids=[Kid(label="k1"), Kid(label="k2")]))
    s.commit()
    assert recorder == [
        "before_insert(p)", "INSERTx1", "after_insert(p)",
        "before_insert(k1)", "INSERTx1", "after_insert(k1)",
        "before_insert(k2)", "INSERTx1", "after_insert(k2)",
    ]
