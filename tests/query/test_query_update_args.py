"""Query.update(update_args=...) / Query.delete(delete_args=...): the dictionary's
dialect options reach the statement (``mysql_limit`` limits the rows on MySQL and
is ignored elsewhere), ``preserve_parameter_order`` with a sequence of pairs keeps
their order in SET; the session's objects agree with the rows whichever rows a
LIMIT reached."""

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import exc


@pytest.fixture
def User(Base, engine, make_session):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        age = Column("age_int", Integer)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=i, name=f"u{i}", age=10 * i) for i in range(1, 5)])
    s.commit()
    s.close()
    return User


@pytest.mark.parametrize("pairs", [[("age", 123), ("name", "foob")],
                                   (("name", "foob"), ("age", 123))])
def test_pairs_keep_their_order_in_set(User, session, sql_log, read_rows, pairs):
    session.query(User).filter(User.id == 2).update(
        pairs, update_args={"preserve_parameter_order": True})
    stmt = next(s for s in sql_log.statements if s.startswith("UPDATE"))
    names = ["age_int", "name"] if pairs[0][0] == "age" else ["name", "age_int"]
    assert stmt.index(names[0]) < stmt.index(names[1])
    session.commit()
    assert read_rows("SELECT name, age_int FROM users WHERE id = 2") == [("foob", 123)]


@pytest.mark.parametrize("sync", ["evaluate", "fetch", False])
def test_update_limit_objects_agree_with_rows(User, session, read_rows, backend_name, sync):
    objs = session.query(User).order_by(User.id).all()
    n = session.query(User).filter(User.age > 15).update(
        {"name": "x"}, synchronize_session=sync, update_args={"mysql_limit": 1})
    assert n == (1 if backend_name == "mysql" else 3)
    names = [o.name for o in objs]
    session.commit()
    rows = [r[0] for r in read_rows("SELECT name FROM users ORDER BY id")]
    assert rows.count("x") == n
    if sync is not False:
        assert names == rows


@pytest.mark.parametrize("sync", ["evaluate", "fetch"])
def test_delete_limit_objects_agree_with_rows(User, session, read_rows, backend_name, sync):
    objs = session.query(User).order_by(User.id).all()
    ids = [o.id for o in objs]
    n = session.query(User).filter(User.age > 15).delete(
        synchronize_session=sync, delete_args={"mysql_limit": 1})
    assert n == (1 if backend_name == "mysql" else 3)
    session.commit()
    left = {r[0] for r in read_rows("SELECT id FROM users")}
    assert len(left) == 4 - n
    for o, ident in zip(objs, ids, strict=True):
        if ident in left:
            assert o in session and o.name == f"u{ident}"
        elif o in session:
            with pytest.raises(exc.ObjectDeletedError):
                o.name  # noqa: B018


def test_unknown_statement_option_is_refused_before_any_sql(User, session, sql_log):
    session.query(User).all()
    sql_log.clear()
    with pytest.raises(exc.ArgumentError, match="update_args"):
        session.query(User).update({"name": "x"}, update_args={"limit": 1})
    with pytest.raises(exc.ArgumentError, match="delete_args"):
        session.query(User).delete(delete_args=5)
    assert sql_log.statements == []
