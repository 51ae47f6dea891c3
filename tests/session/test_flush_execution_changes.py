"""Changes made while a flush executes its statements (in mapper events such as
after_insert / after_update): warned about, and changes to objects the flush did
not write are discarded instead of making commit() flush again and again."""

import warnings

import pytest

import datamapper
from datamapper.exc import FlushError, SAWarning


def _warned(record, text):
    return [w for w in record if issubclass(w.category, SAWarning) and text in str(w.message)]


@pytest.mark.parametrize("op", ["add", "merge", "delete"])
def test_session_methods_in_mapper_events_warn(make_session, parent_child_models, listen, op):
    Parent, Child = parent_child_models
    s = make_session()

    def after_insert(mapper, conn, target):
        sess = datamapper.object_session(target)
        if op == "add":
            sess.add(Child(id=50, code="late"))
        elif op == "merge":
            sess.merge(Child(id=51, code="late"))
        else:
            with pytest.raises(datamapper.exc.InvalidRequestError, match="not persisted"):
                sess.delete(Child(id=52))

    listen(Parent, "after_insert", after_insert)
    s.add(Parent(id=1, name="p"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        s.flush()
    method = {"add": "Session.add()", "merge": "Session.merge()",
              "delete": "Session.delete()"}[op]
    assert len(_warned(record, f"Usage of the '{method}'")) == 1
    assert not _warned(record, "related attribute") and not _warned(record, "collection")


def test_relationship_changes_in_mapper_events_warn(make_session, parent_child_models,
                                                    listen):
    Parent, Child = parent_child_models
    s = make_session()
    listen(Parent, "after_insert",
           lambda m, c, target: target.children.append(Child(id=60, code="late")))
    s.add(Parent(id=1, name="p"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        s.flush()
    assert _warned(record, "Usage of the 'collection append'")
    assert _warned(record, "Usage of the 'related attribute set'")


def test_same_changes_in_before_flush_are_silent_and_written(make_session, parent_child_models,
                                                             listen, read_rows):
    Parent, Child = parent_child_models
    s = make_session()

    def before_flush(session, ctx, objects):
        for p in list(session.new):
            if isinstance(p, Parent) and not p.children:
                p.children.append(Child(id=70, code="early"))
                session.add(Child(id=71, code="early"))

    listen(s, "before_flush", before_flush)
    s.add(Parent(id=1, name="p"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        s.commit()
    assert read_rows("SELECT id FROM children ORDER BY id") == [(70,), (71,)]


def test_changes_to_clean_objects_during_flush_are_discarded(make_session, User, listen,
                                                             sql_log, read_rows):
    s = make_session()
    a1, a2 = User(id=1, name="1"), User(id=2, name="2")
    s.add_all([a1, a2])
    s.commit()

    def after_update(mapper, conn, target):
        for obj in list(datamapper.object_session(target).identity_map.values()):
            obj.note = "from handler"

    listen(User, "after_update", after_update)
    a1.name = "3"
    sql_log.clear()
    with pytest.warns(SAWarning, match="Attribute history events accumulated on 1 "
                                       "previously clean instances"):
        s.commit()
    assert len(sql_log.matching("UPDATE")) == 1
    assert read_rows("SELECT id, name, note FROM users ORDER BY id") == [
        (1, "3", None), (2, "2", None)]


def test_commit_gives_up_after_100_flushes_with_flush_error(make_session, User, listen,
                                                            read_rows):
    s = make_session()
    ids = iter(range(1000, 2000))
    listen(s, "after_flush_postexec",
           lambda session, ctx: session.add(User(id=next(ids), name="x")))
    s.add(User(id=1, name="x"))
    with pytest.raises(FlushError, match="100 flushes in a row"):
        s.commit()
    s.rollback()
    assert read_rows("SELECT count(*) FROM users") == [(0,)]
