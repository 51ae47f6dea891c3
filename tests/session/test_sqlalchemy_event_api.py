"""``sqlalchemy.event.listen()`` / ``listens_for()`` on datamapper targets: the listener
is handed to ``datamapper.event`` and fires; a target or event datamapper does not
have is refused at once (never accepted silently)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import String, event

import datamapper
from datamapper import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


@pytest.fixture
def User(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "ev_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))

    metadata.create_all(engine)
    return User


def test_mapper_attribute_and_session_listeners_fire(User, engine, read_rows):
    seen = []

    @event.listens_for(User, "before_insert")
    def before_insert(mapper, connection, target):
        seen.append(("before_insert", target.name))
        target.name = target.name.upper()  # what the listener does reaches the row

    @event.listens_for(User.name, "set")
    def on_set(target, value, old, initiator):
        seen.append(("set", value))

    with Session(engine) as s:
        event.listen(s, "after_commit", lambda session: seen.append(("after_commit",)))
        s.add(User(name="ed"))
        s.commit()
    assert seen == [("set", "ed"), ("before_insert", "ed"), ("set", "ED"), ("after_commit",)]
    assert [r[1] for r in read_rows(User.__table__)] == ["ED"]
    assert datamapper.event.contains(User, "before_insert", before_insert)
    datamapper.event.remove(User, "before_insert", before_insert)
    with Session(engine) as s:
        s.add(User(name="al"))
        s.commit()
    assert ("before_insert", "al") not in seen


def test_session_class_and_sessionmaker_targets(User, engine):
    seen = []
    maker = sessionmaker(engine)
    event.listen(maker, "after_begin", lambda session, tx, conn: seen.append("maker"))

    class MySession(Session):
        pass

    event.listen(MySession, "before_commit", lambda session: seen.append("class"))
    with maker() as s:
        s.connection()
    with MySession(engine) as s:
        s.add(User(name="x"))
        s.commit()
    assert seen == ["maker", "class"]


def test_join_transaction_mode_recipe_with_sqlalchemy_event(User, engine, read_rows):
    """SQLAlchemy 2.x's test-fixture recipe: a session joined to an outer transaction,
    restarting a SAVEPOINT after each inner one ends (listener via sqlalchemy.event)."""
    conn = engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint")
    ended = []

    @event.listens_for(s, "after_transaction_end")
    def track(session, transaction):
        ended.append(transaction)

    s.add(User(name="inner"))
    s.commit()
    assert ended
    s.close()
    outer.rollback()
    conn.close()
    assert read_rows(User.__table__) == []


def test_targets_and_events_datamapper_lacks_are_refused_at_once(User):
    with pytest.raises(sa.exc.InvalidRequestError, match="no_such_event"):
        event.listen(User, "no_such_event", lambda *a: None)
    with pytest.raises(sa.exc.InvalidRequestError):
        event.listen(User, "before_cursor_execute", lambda *a: None)


def test_core_targets_keep_their_own_events(engine):
    calls = []
    fn = lambda *a: calls.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", fn)
    try:
        with engine.connect() as c:
            c.exec_driver_sql("SELECT 1")
    finally:
        event.remove(engine, "before_cursor_execute", fn)
    assert calls  # Core's own events are not taken over


def test_sqlalchemy_orm_targets_keep_their_own_listeners(engine):
    """A program that uses SQLAlchemy's ORM beside datamapper (or an extension of SQLAlchemy,
    such as its mutable extension, that listens on SQLAlchemy's ``Mapper``): listeners on
    SQLAlchemy's own classes and on classes it maps stay with SQLAlchemy and fire there."""
    from sqlalchemy import orm as sa_orm

    seen = []

    class SABase(sa_orm.DeclarativeBase):
        pass

    def on_configured(mapper, class_):
        seen.append(("configured", class_.__name__))

    event.listen(sa_orm.Mapper, "mapper_configured", on_configured)
    try:
        class Gadget(SABase):
            __tablename__ = "ev_sa_gadgets"
            id = sa.Column(sa.Integer, primary_key=True)

        @event.listens_for(Gadget, "load")
        def on_load(target, context):
            seen.append(("load", target.id))

        @event.listens_for(sa_orm.Session, "after_commit")
        def on_commit(session):
            seen.append(("commit", type(session).__module__.split(".")[0]))

        SABase.metadata.create_all(engine)
        try:
            with sa_orm.Session(engine) as s:
                s.add(Gadget(id=7))
                s.commit()
                s.expire_all()
                s.get(Gadget, 7)
            assert ("configured", "Gadget") in seen
            assert ("commit", "sqlalchemy") in seen and ("load", 7) in seen
        finally:
            event.remove(sa_orm.Session, "after_commit", on_commit)
            SABase.metadata.drop_all(engine)
            SABase.registry.dispose()
    finally:
        event.remove(sa_orm.Mapper, "mapper_configured", on_configured)
