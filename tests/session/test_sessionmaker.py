"""sessionmaker and create_session."""

import pytest

from datamapper import Session, create_session, inspect, sessionmaker


def test_sessionmaker_passes_bind_and_settings(engine):
    factory = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)
    s = factory()
    try:
        assert isinstance(s, Session)
        assert s.bind is engine
        assert s.autoflush is False
        assert s.expire_on_commit is False
    finally:
        s.close()


def test_sessionmaker_configure_applies_to_later_sessions(engine):
    factory = sessionmaker()
    factory.configure(bind=engine)
    s = factory()
    try:
        assert s.bind is engine
    finally:
        s.close()


def test_sessionmaker_call_keywords_override_configuration(engine):
    factory = sessionmaker(bind=engine, autoflush=True)
    s = factory(autoflush=False)
    try:
        assert s.autoflush is False
        assert factory().autoflush is True
    finally:
        s.close()


def test_sessionmaker_class_argument_selects_session_subclass(engine):
    class MySession(Session):
        pass

    s = sessionmaker(bind=engine, class_=MySession)()
    try:
        assert isinstance(s, MySession)
    finally:
        s.close()


def test_sessionmaker_begin_commits_block_and_closes(engine, User, read_rows):
    factory = sessionmaker(bind=engine)
    u = User(id=1, name="a")
    with factory.begin() as s:
        s.add(u)
    assert read_rows(User.__table__) == [(1, "a", None)]
    assert inspect(u).detached


def test_sessionmaker_begin_rolls_back_on_error(engine, User, read_rows):
    factory = sessionmaker(bind=engine)
    with pytest.raises(RuntimeError):
        with factory.begin() as s:
            s.add(User(id=1, name="a"))
            s.flush()
            raise RuntimeError("boom")
    assert read_rows(User.__table__) == []


def test_create_session_defaults(engine):
    s = create_session(bind=engine)
    try:
        assert s.autoflush is False
        assert s.autocommit is True
        assert s.expire_on_commit is False
    finally:
        s.close()


def test_create_session_keywords_override_defaults(engine):
    s = create_session(bind=engine, autoflush=True, autocommit=False)
    try:
        assert s.autoflush is True
        assert s.autocommit is False
    finally:
        s.close()


def test_create_session_flush_commits_immediately(engine, User, read_rows):
    s = create_session(bind=engine)
    try:
        u = User(id=1, name="a")
        s.add(u)
        s.flush()
        assert read_rows(User.__table__) == [(1, "a", None)]
        # expire_on_commit=False: nothing expired
        assert u.name == "a"
    finally:
        s.close()


def test_create_session_does_not_autoflush(engine, User):
    s = create_session(bind=engine)
    try:
        s.add(User(id=1, name="a"))
        assert s.query(User).all() == []
    finally:
        s.close()
