"""2.x style: datamapper.select(Cls) executed by the Session."""

import pytest

from datamapper import select


@pytest.fixture
def users(session, User):
    session.add_all([User(id=i, name=n) for i, n in enumerate(["ed", "wendy", "mary"], 1)])
    session.commit()
    return session


def test_execute_select_scalars_all(users, User):
    got = users.execute(select(User).order_by(User.id)).scalars().all()
    assert [u.name for u in got] == ["ed", "wendy", "mary"]
    assert all(isinstance(u, User) for u in got)


def test_scalars_shortcut(users, User):
    got = users.scalars(select(User).where(User.name.in_(["ed", "mary"])).order_by(User.id))
    assert [u.id for u in got] == [1, 3]


def test_select_where_filter_by(users, User):
    assert users.scalars(select(User).filter_by(name="wendy")).one().id == 2


def test_select_returns_identity_mapped_object(users, User):
    u = users.get(User, 1)
    assert users.scalars(select(User).where(User.id == 1)).one() is u


def test_execute_select_rows_contain_entity(users, User):
    row = users.execute(select(User).where(User.id == 2)).one()
    assert row[0].name == "wendy"


def test_select_of_columns(users, User):
    rows = users.execute(select(User.id, User.name).order_by(User.id.desc())).all()
    assert [tuple(r) for r in rows] == [(3, "mary"), (2, "wendy"), (1, "ed")]


def test_select_limit_offset(users, User):
    got = users.scalars(select(User).order_by(User.id).limit(1).offset(1)).all()
    assert [u.id for u in got] == [2]
