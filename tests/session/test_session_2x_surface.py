"""SQLAlchemy 2.x Session arguments and methods: execution_options=, autobegin=False,
future=, reset(), close_resets_only=False, get_one(), get(execution_options=),
merge(options=), also through sessionmaker."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, event, select

from datamapper import Session, backref, exc, inspect, relationship, selectinload, sessionmaker


@pytest.fixture
def models(Base, engine):
    """users(id, name, note) and addresses, in one create_all (the servers keep the
    tables of one create_all for the next test)."""

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        note = Column(String(50))

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))
        email = Column(String(50))
        user = relationship(User, backref=backref("addresses", order_by=id))

    Base.metadata.create_all(engine)
    return User, Address


@pytest.fixture
def User(models):
    return models[0]


@pytest.fixture
def Address(models):
    return models[1]


@pytest.fixture
def seeded(engine, User, Address):
    with engine.begin() as c:
        c.execute(User.__table__.insert(), [{"id": 1, "name": "ed"}, {"id": 2, "name": "jack"}])
        c.execute(Address.__table__.insert(), [{"id": 1, "user_id": 1, "email": "e1"},
                                               {"id": 2, "user_id": 1, "email": "e2"}])


@pytest.fixture
def seen_options(engine):
    seen = []

    def before_execute(conn, clause, multiparams, params, execution_options):
        seen.append(dict(execution_options))

    event.listen(engine, "before_execute", before_execute)
    yield seen
    event.remove(engine, "before_execute", before_execute)


def test_session_execution_options_reach_every_read(engine, seeded, User, seen_options):
    s = Session(engine, execution_options={"dm_marker": "x"})
    assert s.execution_options == {"dm_marker": "x"}
    u = s.get(User, 1)
    _ = u.addresses  # lazy load
    s.execute(select(User)).scalars().all()
    s.query(User).all()
    s.execute(select(User.name), execution_options={"other": 1}).all()
    marked = [o for o in seen_options if o.get("dm_marker") == "x"]
    assert len(marked) >= 5
    assert any(o.get("other") == 1 for o in marked)
    s.close()


def test_session_execution_options_populate_existing(engine, seeded, User):
    s = Session(engine, execution_options={"populate_existing": True}, expire_on_commit=False)
    u = s.get(User, 1)
    s.commit()
    with engine.begin() as c:
        c.execute(User.__table__.update().values(name="db change"))
    s.execute(select(User).where(User.id == 1)).scalars().all()
    assert u.name == "db change"
    s.close()


def test_sessionmaker_passes_execution_options(engine, seeded, User, seen_options):
    maker = sessionmaker(engine, execution_options={"dm_marker": "m"})
    with maker() as s:
        s.scalars(select(User)).all()
    assert any(o.get("dm_marker") == "m" for o in seen_options)


def test_autobegin_false_refuses_work_without_begin(engine, seeded, User, read_rows):
    s = Session(engine, autobegin=False)
    assert not s.in_transaction()
    with pytest.raises(exc.InvalidRequestError, match="autobegin is disabled"):
        s.execute(select(User))
    with pytest.raises(exc.InvalidRequestError, match="autobegin is disabled"):
        s.get(User, 1)
    with pytest.raises(exc.InvalidRequestError, match="autobegin is disabled"):
        s.add(User(id=3, name="x"))
    with pytest.raises(exc.InvalidRequestError, match="autobegin is disabled"):
        s.commit()
    with pytest.raises(exc.InvalidRequestError, match="autobegin is disabled"):
        s.connection()
    assert not s.in_transaction() and not s.new
    s.rollback()  # nothing to roll back: fine
    s.begin()
    s.add(User(id=3, name="x"))
    s.commit()
    assert not s.in_transaction()
    assert read_rows(User.__table__, id=3) == [(3, "x", None)]
    with pytest.raises(exc.InvalidRequestError, match="autobegin is disabled"):
        s.scalars(select(User)).all()
    with s.begin():
        assert len(s.scalars(select(User)).all()) == 3
    s.close()


def test_sessionmaker_autobegin_false(engine, seeded, User):
    maker = sessionmaker(engine, autobegin=False)
    with maker() as s:
        assert s.autobegin is False
        with pytest.raises(exc.InvalidRequestError):
            s.get(User, 1)


def test_future_flag_selects_2x_semantics(engine):
    # what future=True changes is tested in test_future_mode.py
    assert Session(engine, future=True).future is True
    assert sessionmaker(engine, future=True)().future is True
    assert Session(engine, future=False).future is False


def test_reset_expunges_and_releases_like_close(engine, seeded, User):
    s = Session(engine)
    u = s.get(User, 1)
    s.reset()
    assert u not in s and inspect(u).detached and not s.in_transaction()
    assert s.get(User, 1) is not u
    s.close()


def test_close_resets_only_false_ends_the_session(engine, seeded, User):
    s = Session(engine, close_resets_only=False)
    s.get(User, 1)
    s.close()
    with pytest.raises(exc.InvalidRequestError, match="close_resets_only=False"):
        s.get(User, 2)
    s.close()  # closing again is fine


def test_get_one_returns_object_or_raises(engine, seeded, User, sql_log):
    s = Session(engine)
    u = s.get_one(User, 1)
    assert u.name == "ed"
    n = len(sql_log.statements)
    assert s.get_one(User, 1) is u and len(sql_log.statements) == n
    with pytest.raises(exc.NoResultFound, match="User with primary key 99"):
        s.get_one(User, 99)
    assert s.is_active
    s.close()


def test_get_execution_options(engine, seeded, User, seen_options):
    s = Session(engine, expire_on_commit=False)
    u = s.get(User, 1)
    s.commit()
    with engine.begin() as c:
        c.execute(User.__table__.update().values(name="db"))
    assert s.get(User, 1) is u and u.name == "ed"
    assert s.get(User, 1, execution_options={"populate_existing": True}) is u
    assert u.name == "db"
    s.get(User, 2, execution_options={"dm_marker": "g"})
    assert any(o.get("dm_marker") == "g" for o in seen_options)
    s.close()


def test_merge_options_apply_to_the_load(engine, seeded, User, Address, sql_log):
    s = Session(engine)
    merged = s.merge(User(id=1, name="ed2"), options=[selectinload(User.addresses)])
    assert "addresses" in merged.__dict__
    n = len(sql_log.statements)
    assert [a.email for a in merged.addresses] == ["e1", "e2"]
    assert len(sql_log.statements) == n
    assert merged.name == "ed2"
    s.close()
