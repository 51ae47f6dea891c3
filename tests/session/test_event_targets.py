"""Event targets: a scoped_session stands for its sessionmaker; ``dispatch.<event>``
lists an event's listeners (``fn in session.dispatch.before_flush``) and fires it."""

import pytest

import datamapper
from datamapper import Session, scoped_session, sessionmaker
from datamapper.exc import ArgumentError


def test_listen_on_scoped_session_reaches_its_sessions(engine, User, read_rows):
    scope = scoped_session(sessionmaker(engine))
    seen = []

    def before_flush(session, ctx, objects):
        seen.append(session)

    datamapper.event.listen(scope, "before_flush", before_flush)
    try:
        s = scope()
        assert before_flush in s.dispatch.before_flush
        s.add(User(id=1, name="a"))
        s.commit()
        assert seen == [s]
        assert read_rows(User.__table__) == [(1, "a", None)]
    finally:
        datamapper.event.remove(scope, "before_flush", before_flush)
        scope.remove()
    assert before_flush not in scope().dispatch.before_flush
    scope.remove()


def test_listen_on_scoped_session_of_a_plain_callable_is_refused(engine):
    scope = scoped_session(lambda: Session(engine))
    with pytest.raises(ArgumentError, match="neither a sessionmaker nor a Session class"):
        datamapper.event.listen(scope, "before_flush", lambda *a: None)


def test_dispatch_event_view_lists_and_fires(session):
    calls = []

    def on_attach(sess, obj):
        calls.append(obj)

    assert not session.dispatch.after_attach
    datamapper.event.listen(session, "after_attach", on_attach)
    view = session.dispatch.after_attach
    assert view and on_attach in view and list(view) == [on_attach] and len(view) == 1
    view(session, "x")
    assert calls == ["x"]
    with pytest.raises(AttributeError, match="no event 'not_an_event'"):
        session.dispatch.not_an_event  # noqa: B018


def test_sessions_that_are_gone_leave_nothing_in_the_class_and_maker_registries(engine):
    # every Session's listener registry is a child of its class's (and sessionmaker's):
    # a session per request must not leave one reference per request behind there
    from datamapper.session.session import _dispatch_for_class

    class RequestSession(Session):
        pass

    maker = sessionmaker(engine, class_=RequestSession)
    kept = [maker() for _ in range(10)]
    for _ in range(5000):
        with maker():
            pass
    assert len(_dispatch_for_class(RequestSession)._children) < 200
    assert len(maker._dm_session_dispatch._children) < 200
    seen = []
    datamapper.event.listen(RequestSession, "after_begin", lambda s, tx, conn: seen.append(s))
    kept[0].connection()  # the class's new listener reaches a session made before it
    assert seen == [kept[0]]
    for s in kept:
        s.close()
