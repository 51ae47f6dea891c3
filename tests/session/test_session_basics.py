"""Session basics: construction, add/delete/expunge, get, membership,
new/dirty/deleted, identity_map, context managers."""

import pytest
from sqlalchemy import select

from datamapper import Session, exc, inspect


def test_session_exposes_bind_and_default_settings(engine):
    s = Session(bind=engine)
    try:
        assert s.bind is engine
        assert s.autoflush is True
        assert s.expire_on_commit is True
        assert s.autocommit is False
    finally:
        s.close()


def test_add_makes_object_pending_and_listed_in_new(session, User):
    u = User(name="ed")
    session.add(u)
    assert u in session
    assert u in session.new
    assert inspect(u).pending
    assert list(session.identity_map.values()) == []


def test_add_all_adds_every_object(session, User):
    objs = [User(name="a"), User(name="b"), User(name="c")]
    session.add_all(objs)
    assert set(map(id, session.new)) == set(map(id, objs))


def test_commit_writes_rows_visible_to_another_connection(session, User, read_rows):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    assert read_rows(User.__table__) == [(1, "a", None), (2, "b", None)]


def test_flush_without_commit_is_not_visible_to_another_connection(session, User, read_rows):
    session.add(User(id=1, name="a"))
    session.flush()
    assert read_rows(User.__table__) == []
    session.rollback()


def test_flush_makes_pending_object_persistent_in_identity_map(session, User):
    u = User(name="ed")
    session.add(u)
    session.flush()
    assert inspect(u).persistent
    assert u not in session.new
    assert u.id is not None
    assert session.identity_map[inspect(u).key] is u


def test_flush_of_listed_objects_flushes_only_those(session, User, sql_log):
    a, b = User(name="a"), User(name="b")
    session.add_all([a, b])
    sql_log.clear()
    session.flush([a])
    assert inspect(a).persistent
    assert inspect(b).pending
    assert b in session.new and a not in session.new
    inserts = sql_log.matching("INSERT")
    assert len(inserts) == 1


def test_get_returns_identity_map_object_without_sql(session, User, sql_log):
    u = User(id=5, name="ed")
    session.add(u)
    session.flush()
    sql_log.clear()
    assert session.get(User, 5) is u
    assert sql_log.matching("SELECT") == []


def test_get_loads_row_from_database(make_session, User):
    s1 = make_session()
    s1.add(User(id=7, name="jack"))
    s1.commit()
    s2 = make_session()
    u = s2.get(User, 7)
    assert u is not None and u.name == "jack"
    assert inspect(u).persistent
    assert s2.get(User, 7) is u


def test_get_returns_none_for_missing_row(session, User):
    assert session.get(User, 12345) is None


def test_get_accepts_tuple_and_dict_identity(session, User):
    session.add(User(id=3, name="x"))
    session.commit()
    u = session.get(User, (3,))
    assert u.name == "x"
    assert session.get(User, {"id": 3}) is u


def test_delete_marks_object_deleted_and_flush_removes_row(session, User, read_rows):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.delete(u)
    assert u in session.deleted
    session.flush()
    assert inspect(u).deleted
    assert u not in session
    session.commit()
    assert read_rows(User.__table__) == []
    assert inspect(u).detached


def test_expunge_detaches_persistent_object(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.expunge(u)
    assert u not in session
    assert inspect(u).detached
    assert inspect(u).key not in session.identity_map


def test_expunge_of_pending_object_makes_it_transient(session, User, sql_log):
    u = User(name="a")
    session.add(u)
    session.expunge(u)
    assert inspect(u).transient
    sql_log.clear()
    session.flush()
    assert sql_log.matching("INSERT") == []


def test_expunge_all_empties_the_session(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    session.get(User, 1)
    session.add(User(id=2, name="b"))
    session.expunge_all()
    assert list(session) == []
    assert len(session.identity_map) == 0
    assert len(session.new) == 0


def test_close_detaches_everything(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    u.name  # load
    session.close()
    assert inspect(u).detached
    assert u not in session


def test_session_iterates_identity_map_and_new_objects(session, User):
    a = User(id=1, name="a")
    session.add(a)
    session.flush()
    b = User(id=2, name="b")
    session.add(b)
    members = list(session)
    assert len(members) == 2
    assert any(m is a for m in members) and any(m is b for m in members)


def test_dirty_lists_modified_persistent_objects(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.flush()
    assert u not in session.dirty
    u.name = "b"
    assert u in session.dirty


def test_is_modified_reflects_net_change(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    assert u.name == "a"
    assert not session.is_modified(u)
    u.name = "a"
    assert not session.is_modified(u)
    u.name = "b"
    assert session.is_modified(u)


def test_with_session_closes_on_exit(engine, User):
    with Session(engine) as s:
        u = User(id=1, name="a")
        s.add(u)
        s.commit()
        u.name
    assert inspect(u).detached


def test_with_session_begin_commits_on_success(engine, User, read_rows):
    with Session(engine) as s:
        with s.begin():
            s.add(User(id=1, name="a"))
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_with_session_begin_rolls_back_on_exception(engine, User, read_rows):
    with Session(engine) as s:
        with pytest.raises(ZeroDivisionError):
            with s.begin():
                s.add(User(id=1, name="a"))
                s.flush()
                1 / 0
    assert read_rows(User.__table__) == []


def test_object_session_and_session_object_session_classmethod(session, User):
    from datamapper import object_session

    u = User(name="a")
    assert object_session(u) is None
    session.add(u)
    assert object_session(u) is session
    assert Session.object_session(u) is session


def test_scalars_on_orm_select_returns_objects(session, User):
    from datamapper import select as dm_select

    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    names = [u.name for u in session.scalars(dm_select(User).order_by(User.id))]
    assert names == ["a", "b"]


def test_execute_core_select_of_table_returns_rows(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    rows = session.execute(select(User.__table__.c.name)).all()
    assert [tuple(r) for r in rows] == [("a",)]


def test_execute_of_textual_sql_does_not_autoflush(session, User, sql_log):
    session.add(User(id=1, name="a"))
    sql_log.clear()
    assert session.execute("SELECT count(*) FROM users").scalar() == 0
    assert sql_log.matching("INSERT") == []
    assert len(session.new) == 1


def test_get_with_populate_existing_overwrites_loaded_state(engine, make_session, User):
    from sqlalchemy import text

    s = make_session(expire_on_commit=False)
    u = User(id=1, name="a")
    s.add(u)
    s.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'z' WHERE id = 1"))
    assert s.get(User, 1).name == "a"
    assert s.get(User, 1, populate_existing=True) is u
    assert u.name == "z"


def test_session_is_reusable_after_close(session, User, read_rows):
    session.add(User(id=1, name="a"))
    session.commit()
    session.close()
    session.add(User(id=2, name="b"))
    session.commit()
    assert [r[0] for r in read_rows(User.__table__)] == [1, 2]
    assert session.get(User, 1).name == "a"


def test_get_by_dict_accepts_synonyms_of_the_key_attributes(Base, engine, make_session, sql_log):
    from sqlalchemy import Column, Integer, String

    from datamapper import synonym

    class Thing(Base):
        __tablename__ = "things"
        tid = Column("id", Integer, primary_key=True)
        name = Column(String(20))
        syn_id = synonym("tid")
        syn_syn_id = synonym("syn_id")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Thing(tid=7, name="seven"))
    s.commit()
    s.close()
    sql_log.clear()
    got = [s.get(Thing, {key: 7}) for key in ("tid", "syn_id", "syn_syn_id")]
    assert got[0].name == "seven" and got[1] is got[0] and got[2] is got[0]
    assert len(sql_log.matching("SELECT")) == 1  # then from the identity map
    with pytest.raises(exc.InvalidRequestError, match="primary key attribute names tid"):
        s.get(Thing, {"name": "seven"})
