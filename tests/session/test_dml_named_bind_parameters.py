"""ORM INSERT and UPDATE by primary key whose statement names its own bind
parameters (``values(y=bindparam("q"))``, ``where(A.id == bindparam("b_id"))``):
the dictionaries give those parameters by name beside the mapped attributes, and
each row gets its own values, as Core's executemany does for a table."""

import pytest
from sqlalchemy import Column, Integer, bindparam, insert, literal, select, update

from datamapper import exc


@pytest.fixture
def A(Base, engine):
    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        x = Column(Integer)
        y = Column("ycol", Integer)

    Base.metadata.create_all(engine)
    return A


@pytest.mark.parametrize("in_expression", [False, True])
@pytest.mark.parametrize("many", [False, True])
def test_insert_with_named_bind_parameter(A, session, read_rows, in_expression, many):
    q = literal(3) * (bindparam("q") + 15) if in_expression else bindparam("q")
    stmt = insert(A).values(y=q)
    rows = [{"id": 1, "q": 5, "x": 10}, {"id": 2, "q": 8, "x": 11}, {"id": 3, "q": 12, "x": 12}]
    session.execute(stmt, rows if many else rows[0])
    session.commit()
    expected = [(1, 10, 60), (2, 11, 69), (3, 12, 81)] if in_expression else [
        (1, 10, 5), (2, 11, 8), (3, 12, 12)]
    assert read_rows("SELECT id, x, ycol FROM a ORDER BY id") == (
        expected if many else expected[:1])


def test_insert_returning_with_named_bind_parameter(A, session, backend_name):
    if backend_name == "mysql":
        pytest.skip("no INSERT ... RETURNING on MySQL")
    stmt = insert(A).values(y=bindparam("q")).returning(A.x, A.y)
    result = session.execute(stmt, [{"q": 5, "x": 10}, {"q": 8, "x": 11}])
    assert sorted(result.all()) == [(10, 5), (11, 8)]


def test_insert_name_neither_attribute_nor_parameter_is_refused(A, session, sql_log):
    stmt = insert(A).values(y=bindparam("q"))
    with pytest.raises(exc.InvalidRequestError, match="'nope'"):
        session.execute(stmt, [{"q": 5, "x": 10, "nope": 1}, {"q": 5, "x": 10, "nope": 2}])
    assert not [s for s in sql_log.statements if s.startswith("INSERT")]
    assert session.scalars(select(A)).all() == []


@pytest.fixture
def three(A, make_session):
    s = make_session()
    s.add_all([A(id=1, x=1, y=1), A(id=2, x=2, y=2), A(id=3, x=3, y=3)])
    s.commit()
    s.close()


@pytest.mark.parametrize("in_expression", [False, True])
@pytest.mark.parametrize("sync", ["auto", "evaluate", "fetch", False])
def test_update_by_primary_key_with_named_bind_parameters(A, three, session, read_rows,
                                                          in_expression, sync):
    objs = session.scalars(select(A).order_by(A.id)).all()
    q = literal(3) * (bindparam("q") + 15) if in_expression else bindparam("q")
    stmt = update(A).values(y=q).where(A.id == bindparam("b_id"))
    session.execute(stmt, [{"id": 1, "b_id": 1, "q": 5, "x": 10},
                           {"id": 2, "b_id": 2, "q": 8, "x": 11}],
                    execution_options={"synchronize_session": sync})
    expected = [(1, 10, 60), (2, 11, 69), (3, 3, 3)] if in_expression else [
        (1, 10, 5), (2, 11, 8), (3, 3, 3)]
    if sync is not False:  # the objects show what the rows hold
        assert [(o.id, o.x, o.y) for o in objs] == expected
    session.commit()
    assert read_rows("SELECT id, x, ycol FROM a ORDER BY id") == expected


def test_update_by_primary_key_with_values_expressions(A, three, session, read_rows):
    objs = session.scalars(select(A).order_by(A.id)).all()
    stmt = update(A).values(y=A.y + 100)
    session.execute(stmt, [{"id": 1, "x": 10}, {"id": 3, "x": 30}])
    assert [(o.id, o.x, o.y) for o in objs] == [(1, 10, 101), (2, 2, 2), (3, 30, 103)]
    session.commit()
    assert read_rows("SELECT id, x, ycol FROM a ORDER BY id") == [
        (1, 10, 101), (2, 2, 2), (3, 30, 103)]


def test_update_by_primary_key_with_plain_values(A, three, session, read_rows):
    objs = session.scalars(select(A).order_by(A.id)).all()
    session.execute(update(A).values(y=7), [{"id": 1, "x": 10}, {"id": 2, "x": 20}])
    assert [(o.id, o.x, o.y) for o in objs] == [(1, 10, 7), (2, 20, 7), (3, 3, 3)]
    session.commit()
    assert read_rows("SELECT id, x, ycol FROM a ORDER BY id") == [
        (1, 10, 7), (2, 20, 7), (3, 3, 3)]


def test_update_by_primary_key_ordered_values_is_refused(A, three, session, sql_log):
    stmt = update(A).ordered_values((A.y, 5), (A.x, 6))
    with pytest.raises(exc.InvalidRequestError, match="ordered_values"):
        session.execute(stmt, [{"id": 1}, {"id": 2}])
    assert not [s for s in sql_log.statements if s.startswith("UPDATE")]


def test_update_name_neither_attribute_nor_parameter_is_refused(A, three, session, sql_log):
    stmt = update(A).values(y=bindparam("q"))
    with pytest.raises(exc.InvalidRequestError, match="'nope'"):
        session.execute(stmt, [{"id": 1, "q": 5, "nope": 1}])
    assert not [s for s in sql_log.statements if s.startswith("UPDATE")]
