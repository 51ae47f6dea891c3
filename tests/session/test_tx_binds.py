"""Several databases in one Session: binds={...}, bind_mapper, bind_table (mapper
binds win over table binds), a get_bind() override (seed 002's RoutingSession),
and execute()/connection() with mapper= and bind=.  Each database is read back
through its own separate connection."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String, text

from _tx_support import (  # noqa: F401
    assert_released,
    table_rows,
    user_and_account,
)
from datamapper import Session, exc, sessionmaker


@pytest.fixture
def classes(Base, engine, other_engine):
    return user_and_account(Base, engine, other_engine, "p_")


_rows = table_rows


def test_flush_writes_each_class_to_its_own_database(make_session, classes, engine,
                                                     other_engine):
    User, Account = classes
    s = make_session(bind=None, binds={User: engine, Account: other_engine})
    s.add_all([User(id=1, name="ann"), Account(id=1, balance=10)])
    s.flush()
    assert _rows(engine, User.__table__) == [] and _rows(other_engine, Account.__table__) == []
    s.commit()
    assert _rows(engine, User.__table__) == [(1, "ann")]
    assert _rows(other_engine, Account.__table__) == [(1, 10)]
    # reading goes to the right database too
    assert [u.name for u in s.query(User)] == ["ann"]
    assert s.get(Account, 1).balance == 10
    s.close()
    assert_released(engine, other_engine)


def test_rollback_undoes_work_in_every_database(make_session, classes, engine, other_engine):
    User, Account = classes
    s = make_session(bind=None, binds={User: engine, Account: other_engine})
    s.add_all([User(id=1, name="ann"), Account(id=1, balance=10)])
    s.flush()
    assert len({id(c) for c in (s.connection(User), s.connection(Account))}) == 2
    s.rollback()
    assert _rows(engine, User.__table__) == [] and _rows(other_engine, Account.__table__) == []
    assert_released(engine, other_engine)


def test_bind_mapper_and_bind_table(make_session, classes, engine, other_engine):
    User, Account = classes
    s = make_session(bind=None)
    s.bind_mapper(User, engine)
    s.bind_table(Account.__table__, other_engine)
    assert s.get_bind(User) is engine
    assert s.get_bind(Account) is other_engine
    assert s.get_bind(clause=sa.select(Account.__table__)) is other_engine
    s.add_all([User(id=1, name="ann"), Account(id=1, balance=10)])
    s.commit()
    assert _rows(engine, User.__table__) == [(1, "ann")]
    assert _rows(other_engine, Account.__table__) == [(1, 10)]


def test_mapper_bind_wins_over_table_bind(make_session, classes, engine, other_engine):
    User, Account = classes
    s = make_session(bind=None, binds={User.__table__: other_engine, User: engine})
    assert s.get_bind(User) is engine
    s2 = make_session(bind=None)
    s2.bind_mapper(User, engine)
    s2.bind_table(User.__table__, other_engine)
    assert s2.get_bind(User) is engine
    s2.add(User(id=1, name="ann"))
    s2.commit()
    assert _rows(engine, User.__table__) == [(1, "ann")]


def test_execute_and_connection_accept_mapper_and_bind(make_session, classes, engine,
                                                       other_engine):
    User, Account = classes
    s = make_session(bind=None, binds={User: engine, Account: other_engine})
    s.execute(text("INSERT INTO p_accounts (id, balance) VALUES (5, 50)"), mapper=Account)
    assert s.scalar(text("SELECT count(*) FROM p_accounts"), mapper=Account) == 1
    assert s.execute(text("SELECT count(*) FROM p_accounts"), bind=other_engine).scalar() == 1
    conn = s.connection(Account)
    assert conn is s.connection(bind=other_engine) and conn is s.connection(mapper=Account)
    assert s.connection(User) is not conn
    assert _rows(other_engine, Account.__table__) == []
    s.commit()
    assert _rows(other_engine, Account.__table__) == [(5, 50)]
    assert_released(engine, other_engine)


def test_unbound_statement_without_mapper_raises(make_session, classes, engine, other_engine):
    User, Account = classes
    s = make_session(bind=None, binds={User: engine, Account: other_engine})
    with pytest.raises(exc.UnboundExecutionError, match="binds="):
        s.execute(text("SELECT 1"))
    assert s.is_active


def test_routing_session_overriding_get_bind(classes, engine, other_engine, Base):
    """Seed 002 "Custom Vertical Partitioning": flushes go to the master, reads of
    other classes to a replica, a chosen class always to its own engine."""
    User, Account = classes
    # the replica of users is the second database
    replica_users = sa.Table("p_users", sa.MetaData(), Column("id", Integer, primary_key=True),
                             Column("name", String(50)))
    replica_users.create(other_engine)
    with other_engine.begin() as conn:
        conn.execute(replica_users.insert(), [{"id": 7, "name": "from-replica"}])
    routed = []

    class RoutingSession(Session):
        def get_bind(self, mapper=None, clause=None):
            if mapper and issubclass(mapper.class_, Account):
                routed.append("other")
                return other_engine
            elif self._flushing:
                routed.append("master")
                return engine
            else:
                routed.append("replica")
                return other_engine

    maker = sessionmaker(class_=RoutingSession)
    s = maker()
    try:
        s.add_all([User(id=1, name="to-master"), Account(id=1, balance=3)])
        s.commit()
        assert _rows(engine, User.__table__) == [(1, "to-master")]
        assert _rows(other_engine, Account.__table__) == [(1, 3)]
        assert [u.name for u in s.query(User)] == ["from-replica"]
        assert {"master", "other", "replica"} <= set(routed)
    finally:
        s.close()
    assert_released(engine, other_engine)


def test_session_level_bind_is_the_fallback(make_session, classes, engine, other_engine):
    User, Account = classes
    s = make_session(bind=engine, binds={Account: other_engine})
    assert s.get_bind(User) is engine and s.get_bind(Account) is other_engine
    assert s.get_bind() is engine
    s.add_all([User(id=1, name="ann"), Account(id=1, balance=10)])
    s.commit()
    assert _rows(engine, User.__table__) == [(1, "ann")]
    assert _rows(other_engine, Account.__table__) == [(1, 10)]


# -- the binds mapping, statements on a bound class's table, get_bind keywords ------------------
def test_binds_shows_what_was_bound_read_only_and_is_replaced_on_change(
        make_session, classes, engine, other_engine):
    from sqlalchemy.util import immutabledict

    from datamapper import scoped_session

    User, Account = classes
    assert make_session(bind=None).binds == {}
    s = make_session(bind=None, binds={User: engine})
    before = s.binds
    assert isinstance(before, immutabledict)
    assert before == {User: engine, User.__table__: engine}  # the class and its table
    with pytest.raises(TypeError):
        before[Account] = other_engine  # type: ignore[index]
    s.bind_table(Account.__table__, other_engine)
    assert s.binds is not before
    assert before == {User: engine, User.__table__: engine}
    assert s.binds == {User: engine, User.__table__: engine, Account.__table__: other_engine}
    scoped = scoped_session(sessionmaker(binds={Account: other_engine}))
    assert scoped.binds == {Account: other_engine, Account.__table__: other_engine}
    scoped.remove()


def test_statement_on_the_table_of_a_bound_class_runs_on_its_bind(
        make_session, classes, engine, other_engine):
    """binds={Account: other}: a Core statement naming Account's table (no mapper given)
    goes to that database; a bind given to the table itself still wins."""
    User, Account = classes
    s = make_session(bind=None, binds={User: engine, Account: other_engine})
    s.execute(Account.__table__.insert(), {"id": 5, "balance": 50})
    assert s.execute(sa.select(Account.__table__.c.balance)).scalar() == 50
    s.commit()
    assert _rows(other_engine, Account.__table__) == [(5, 50)]
    s2 = make_session(bind=None, binds={Account: other_engine, Account.__table__: engine})
    assert s2.get_bind(clause=sa.select(Account.__table__)) is engine
    assert s2.get_bind(Account) is other_engine


def test_binding_something_that_is_not_a_class_or_table_raises_argument_error(
        make_session, classes, engine):
    User, _ = classes
    s = make_session(bind=None)
    for bad in ("foobar", User(id=1)):
        with pytest.raises(exc.ArgumentError, match="Can't bind"):
            s.bind_mapper(bad, engine)
    assert s.binds == {}


def test_get_bind_override_is_called_with_keywords(classes, engine, other_engine):
    """Statements reach an overriding get_bind() as keyword arguments: ``clause`` always,
    ``mapper`` only when the statement is for a mapped class (SQLAlchemy 2.x's calls)."""
    User, Account = classes
    calls = []

    class KeywordOnly(Session):
        def get_bind(self, **kw):  # type: ignore[override]
            calls.append(sorted(kw))
            return engine if kw.get("mapper") is None else Session.get_bind(self, **kw)

    s = KeywordOnly(binds={User: engine, Account: other_engine})
    assert s.execute(sa.select(sa.literal(1))).scalar() == 1
    assert calls[-1] == ["clause"]
    s.get(User, 1)
    assert calls[-1] == ["clause", "mapper"]
    s.close()
