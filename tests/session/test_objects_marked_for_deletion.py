"""Objects marked for deletion by a delete cascade, then expired (refresh() of the
parent expires its children along the refresh-expire cascade), before the flush."""

from datamapper import inspect


def _seeded(Parent, Child, session):
    session.add(Parent(id=1, name="p1", children=[Child(id=1, code="a"), Child(id=2, code="b")]))
    session.commit()
    p = session.get(Parent, 1)
    kids = list(p.children)
    session.delete(p)  # the cascade marks both children
    with session.no_autoflush:
        session.refresh(p)  # ... and expires them
    assert all(k in session.deleted and inspect(k).expired for k in kids)
    return p, kids


def test_delete_of_an_object_marked_already_sends_nothing(parent_child_models, session,
                                                          sql_log, read_rows):
    """As SQLAlchemy: delete() of an object marked for deletion does nothing, so it
    loads nothing (no autoflush of the pending deletes)."""
    Parent, Child = parent_child_models
    p, kids = _seeded(Parent, Child, session)
    sql_log.clear()
    session.delete(kids[0])
    session.delete(p)
    assert sql_log.statements == []
    assert kids[0] in session.deleted and p in session.deleted
    assert inspect(kids[0]).persistent  # marked, not flushed
    session.commit()
    assert read_rows(Parent.__table__) == [] and read_rows(Child.__table__) == []


def test_get_of_an_expired_object_the_autoflush_deletes_is_none(parent_child_models, session,
                                                                sql_log, read_rows):
    """get() must load the expired child; the load's autoflush deletes its row, so
    get() finds none (as SQLAlchemy), though the flush loaded its values first."""
    Parent, Child = parent_child_models
    p, kids = _seeded(Parent, Child, session)
    assert session.get(Child, 1) is None
    assert inspect(kids[0]).deleted and kids[0].code == "a"
    assert len(sql_log.matching("DELETE FROM children")) == 1
    session.commit()
    assert read_rows(Child.__table__) == []


def test_get_of_a_partly_expired_object_sends_nothing(parent_child_models, session, sql_log,
                                                      read_rows):
    """get() returns an object with only some attributes expired as it is (they load
    on access), as SQLAlchemy: no load, so no autoflush of the pending new object."""
    Parent, Child = parent_child_models
    session.add(Parent(id=1, name="p1"))
    session.commit()
    p = session.get(Parent, 1)
    assert p.name == "p1"
    session.expire(p, ["name"])
    session.add(Parent(id=2, name="p2"))
    sql_log.clear()
    assert session.get(Parent, 1) is p
    assert sql_log.statements == []
    assert "name" not in p.__dict__
    assert p.name == "p1"  # loads now (and autoflushes the new object first)
    assert len(sql_log.matching("INSERT")) == 1
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p1"), (2, "p2")]
