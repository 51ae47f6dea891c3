"""Caching a result outside any session and merging it back in: ``Result.freeze()`` with
``loading.merge_frozen_result()``, and the legacy ``Query.merge_result()``."""

from __future__ import annotations

import warnings

import pytest
import sqlalchemy as sa

from datamapper import exc, loading, select


@pytest.fixture
def cached_users(users, User):
    """A frozen result of both users, loaded by a session that is then closed."""
    stmt = select(User).order_by(User.id)
    frozen = users.execute(stmt).freeze()
    users.close()
    return stmt, frozen


def test_frozen_entities_come_back_as_the_new_sessions_objects(cached_users, make_session,
                                                               User, sql_log):
    stmt, frozen = cached_users
    s2 = make_session()
    sql_log.clear()
    merged = loading.merge_frozen_result(s2, stmt, frozen, load=False)
    objs = merged().scalars().all()
    assert sql_log.statements == []
    assert [(u.id, u.name) for u in objs] == [(1, "ed"), (2, "wendy")]
    assert all(u in s2 for u in objs)
    assert objs[0] is s2.get(User, 1)
    # the cached objects stay detached and untouched
    assert [u not in s2 for u in frozen().scalars().all()] == [True, True]
    # a frozen result replays as often as wanted
    assert [u.id for u in merged().scalars()] == [1, 2]


def test_merge_with_load_reads_the_database_and_keeps_cached_values(cached_users, make_session,
                                                                    User, engine, read_rows):
    stmt, frozen = cached_users
    with engine.begin() as conn:
        conn.execute(sa.update(User.__table__).where(User.__table__.c.id == 1)
                     .values(note="from db"))
    s2 = make_session()
    objs = loading.merge_frozen_result(s2, stmt, frozen, load=True)().scalars().all()
    assert objs[0].note is None  # the cached state wins for loaded attributes
    assert objs[0].name == "ed"
    s2.commit()
    assert read_rows(User.__table__) == [(1, "ed", None), (2, "wendy", None)]


def test_mixed_rows_merge_only_the_mapped_values(users, User, make_session):
    stmt = select(User, User.name, sa.literal(5).label("five")).order_by(User.id)
    frozen = users.execute(stmt).freeze()
    users.close()
    s2 = make_session()
    rows = loading.merge_frozen_result(s2, stmt, frozen)().all()
    assert [(u.id, name, five) for u, name, five in rows] == [(1, "ed", 5), (2, "wendy", 5)]
    assert all(r[0] in s2 for r in rows)
    assert list(rows[0]._mapping.keys()) == ["User", "name", "five"]


def test_column_only_frozen_result_is_unchanged(users, User, make_session):
    stmt = select(User.id).order_by(User.id)
    frozen = users.execute(stmt).freeze()
    rows = loading.merge_frozen_result(make_session(), stmt, frozen)().all()
    assert [tuple(r) for r in rows] == [(1,), (2,)]


def test_merging_never_autoflushes(cached_users, make_session, User, sql_log):
    stmt, frozen = cached_users
    s2 = make_session()
    s2.add(User(id=3, name="pending"))
    sql_log.clear()
    loading.merge_frozen_result(s2, stmt, frozen, load=True)
    assert sql_log.matching("INSERT") == []


def test_merge_frozen_result_refuses_a_plain_list(users, User, make_session):
    with pytest.raises(exc.ArgumentError, match="Result.freeze"):
        loading.merge_frozen_result(make_session(), select(User), [User(id=1)])


def test_query_merge_result_of_objects_and_rows(users, User, make_session):
    objs = users.query(User).order_by(User.id).all()
    rows = users.query(User, User.name).order_by(User.id).all()
    users.close()
    s2 = make_session()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        merged = list(s2.query(User).merge_result(objs, load=False))
        merged_rows = list(s2.query(User, User.name).merge_result(rows, load=False))
    assert [u.id for u in merged] == [1, 2] and all(u in s2 for u in merged)
    assert merged[0] is not objs[0]
    assert [(r.User.id, r.name) for r in merged_rows] == [(1, "ed"), (2, "wendy")]
    assert merged_rows[0].User is merged[0]


def test_query_merge_result_warns_and_accepts_a_frozen_result(cached_users, make_session, User):
    stmt, frozen = cached_users
    s2 = make_session()
    with pytest.warns(DeprecationWarning, match="merge_frozen_result"):
        out = s2.query(User).merge_result(frozen, load=False)
    assert [u.id for u in out().scalars()] == [1, 2]


def test_the_merge_functions_are_importable_where_2x_code_imports_them():
    import datamapper

    assert datamapper.merge_frozen_result is loading.merge_frozen_result
    assert datamapper.merge_result is loading.merge_result
