"""Query events on the Query class: before_compile (runs and str()), and
before_compile_update / before_compile_delete for the bulk methods."""

import pytest
from sqlalchemy import event as core_event

import datamapper
from datamapper import Query


@pytest.fixture
def listen():
    added = []

    def add(target, name, fn, **kw):
        datamapper.event.listen(target, name, fn, **kw)
        added.append((target, name, fn))

    yield add
    for target, name, fn in added:
        datamapper.event.remove(target, name, fn)


@pytest.fixture
def users(User, session):
    session.add_all([User(id=i, name=f"u{i}") for i in (1, 2, 3)])
    session.commit()
    return User


def test_before_compile_retval_replaces_the_query(users, session, listen):
    User = users
    listen(Query, "before_compile", lambda q: q.filter(User.id != 2), retval=True)
    assert [u.id for u in session.query(User).order_by(User.id)] == [1, 3]
    assert "users.id != " in str(session.query(User))


def test_before_compile_without_retval_only_observes(users, session, listen):
    User = users
    calls = []
    listen(Query, "before_compile", lambda q: calls.append(q) or q.filter(User.id == 1))
    q = session.query(User)
    str(q)
    assert len(q.all()) == 3 and len(calls) == 2


def test_before_compile_execution_options_reach_the_connection(users, session, engine,
                                                               listen):
    User = users
    seen = []
    core_event.listen(engine, "before_cursor_execute",
                      lambda *a: seen.append(a[4].execution_options.get("tag")))
    listen(Query, "before_compile", lambda q: q.execution_options(tag="t"), retval=True)
    session.query(User).first()
    assert seen[-1] == "t"


def test_before_compile_update_and_delete(users, session, listen, read_rows):
    User = users

    def on_update(q, ctx):
        assert ctx.query is q
        ctx.values["name"] = ctx.values["name"] + "!"
        return q.filter(User.id != 3)

    listen(Query, "before_compile_update", on_update, retval=True)
    listen(Query, "before_compile_delete", lambda q, ctx: q.filter(User.id != 1),
           retval=True)
    session.query(User).update({"name": "x"}, synchronize_session=False)
    session.query(User).filter(User.id < 3).delete(synchronize_session=False)
    session.commit()
    assert read_rows("SELECT id, name FROM users ORDER BY id") == [(1, "x!"), (3, "u3")]


def test_subclass_listeners_apply_only_to_that_query_class(users, make_session, listen):
    User = users

    class MyQuery(Query):
        pass

    listen(MyQuery, "before_compile", lambda q: q.filter(User.id == 1), retval=True)
    assert len(make_session(query_cls=MyQuery).query(User).all()) == 1
    assert len(make_session().query(User).all()) == 3
