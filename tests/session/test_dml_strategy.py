"""The ``dml_strategy`` execution option of ORM INSERT/UPDATE/DELETE statements.

``"auto"`` (the default) picks ``"bulk"`` for a list of dictionaries (an INSERT of
each, an UPDATE by primary key of each) and ``"orm"`` otherwise; ``"orm"`` with a
list runs the statement itself once per dictionary (Core's executemany), matching
the session's objects for each; ``"raw"`` (INSERT) and ``"core_only"``
(UPDATE/DELETE) run the statement as Core would and leave the objects alone.  An
unknown or unfitting strategy is refused before any SQL."""

import pytest
from sqlalchemy import Column, Integer, String, bindparam, delete, insert, select, update

from datamapper import exc


@pytest.fixture
def A(Base, engine):
    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True, autoincrement=False)
        x = Column(Integer)
        y = Column("ycol", Integer)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    return A


@pytest.fixture
def three(A, make_session):
    s = make_session()
    s.add_all([A(id=i, x=i, y=i, name=f"n{i}") for i in (1, 2, 3)])
    s.commit()
    s.close()


@pytest.mark.parametrize("strategy", ["auto", "bulk", "orm"])
def test_insert_list_of_dictionaries_with_each_strategy(A, session, read_rows, strategy):
    stmt = insert(A).execution_options(dml_strategy=strategy)
    session.execute(stmt, [{"id": 1, "x": 10, "y": 5}, {"id": 2, "x": 11, "y": 6}])
    session.commit()
    assert read_rows("SELECT id, x, ycol FROM a ORDER BY id") == [(1, 10, 5), (2, 11, 6)]


def test_insert_raw_takes_column_keys_as_core_does(A, session, read_rows):
    stmt = insert(A).values(ycol=bindparam("q")).execution_options(dml_strategy="raw")
    session.execute(stmt, [{"id": 1, "x": 10, "q": 7}, {"id": 2, "x": 11, "q": 8}])
    session.commit()
    assert read_rows("SELECT id, x, ycol FROM a ORDER BY id") == [(1, 10, 7), (2, 11, 8)]


def test_insert_raw_autoflushes_first(A, session, read_rows):
    session.add(A(id=1, x=1))
    session.execute(insert(A).execution_options(dml_strategy="raw"), {"id": 2, "x": 2})
    session.commit()
    assert read_rows("SELECT id FROM a ORDER BY id") == [(1,), (2,)]


@pytest.mark.parametrize("verb", ["insert", "update"])
def test_bulk_strategy_without_parameters_is_refused(A, three, session, sql_log, verb):
    stmt = (insert(A).values(id=9) if verb == "insert"
            else update(A).values(x=0)).execution_options(dml_strategy="bulk")
    with pytest.raises(exc.InvalidRequestError, match="dml_strategy='bulk' without parameters"):
        session.execute(stmt)
    assert not [s for s in sql_log.statements if s.startswith(verb.upper())]


@pytest.mark.parametrize("verb, strategy", [("insert", "core_only"), ("update", "raw"),
                                            ("delete", "raw"), ("update", "nope")])
def test_unknown_strategy_is_refused(A, three, session, sql_log, verb, strategy):
    stmt = {"insert": insert(A).values(id=9), "update": update(A).values(x=0),
            "delete": delete(A)}[verb].execution_options(dml_strategy=strategy)
    with pytest.raises(exc.ArgumentError, match=f"dml_strategy={strategy!r}"):
        session.execute(stmt)
    assert not [s for s in sql_log.statements if s.startswith(verb.upper())]


def test_bulk_delete_is_refused(A, three, session, read_rows):
    stmt = delete(A).where(A.id == bindparam("b_id")).execution_options(dml_strategy="bulk")
    with pytest.raises(exc.InvalidRequestError, match="no bulk DELETE"):
        session.execute(stmt, [{"b_id": 1}, {"b_id": 2}])
    assert len(read_rows("SELECT id FROM a")) == 3


@pytest.mark.parametrize("sync", ["auto", "evaluate", "fetch", False])
def test_update_orm_strategy_with_a_list_runs_the_criteria_statement_per_row(
        A, three, session, read_rows, sync):
    objs = session.scalars(select(A).order_by(A.id)).all()
    stmt = (update(A).values(y=bindparam("q"), name="changed")
            .where(A.id == bindparam("b_id"))
            .execution_options(dml_strategy="orm", synchronize_session=sync))
    result = session.execute(stmt, [{"b_id": 1, "q": 50}, {"b_id": 3, "q": 70}])
    assert result.rowcount == 2
    if sync is not False:  # the objects show what the rows hold, the third untouched
        assert [(o.id, o.y, o.name) for o in objs] == [
            (1, 50, "changed"), (2, 2, "n2"), (3, 70, "changed")]
    session.commit()
    assert read_rows("SELECT id, ycol, name FROM a ORDER BY id") == [
        (1, 50, "changed"), (2, 2, "n2"), (3, 70, "changed")]


def test_update_auto_strategy_with_a_list_is_by_primary_key(A, three, session, read_rows):
    objs = session.scalars(select(A).order_by(A.id)).all()
    session.execute(update(A), [{"id": 1, "x": 100}, {"id": 2, "x": 200}])
    assert [o.x for o in objs] == [100, 200, 3]
    with pytest.raises(exc.InvalidRequestError, match="primary key"):
        session.execute(update(A).execution_options(dml_strategy="bulk"), [{"x": 5}])


def test_delete_orm_strategy_with_a_list(A, three, session, read_rows):
    objs = session.scalars(select(A).order_by(A.id)).all()
    stmt = delete(A).where(A.id == bindparam("b_id")).execution_options(dml_strategy="orm")
    session.execute(stmt, [{"b_id": 1}, {"b_id": 3}])
    assert [o in session for o in objs] == [False, True, False]
    session.commit()
    assert read_rows("SELECT id FROM a") == [(2,)]


def test_delete_auto_with_a_list_is_refused_naming_the_orm_strategy(A, three, session):
    stmt = delete(A).where(A.id == bindparam("b_id"))
    with pytest.raises(exc.InvalidRequestError, match="dml_strategy='orm'"):
        session.execute(stmt, [{"b_id": 1}, {"b_id": 3}])


@pytest.mark.parametrize("verb", ["update", "delete"])
def test_core_only_leaves_the_objects_alone(A, three, session, read_rows, verb):
    objs = session.scalars(select(A).order_by(A.id)).all()
    stmt = (update(A).values(x=0) if verb == "update" else delete(A)).where(A.id == 1)
    session.execute(stmt.execution_options(dml_strategy="core_only"))
    assert objs[0].x == 1 and objs[0] in session
    session.commit()
    expected = [(0,), (2,), (3,)] if verb == "update" else [(2,), (3,)]
    assert read_rows("SELECT x FROM a ORDER BY id") == expected


def test_returning_from_executemany_update_refused_where_unsupported(A, three, session,
                                                                    engine, read_rows):
    if engine.dialect.update_executemany_returning:
        pytest.skip("this database returns rows from an executemany UPDATE")
    stmt = (update(A).values(x=bindparam("q")).where(A.id == bindparam("b_id"))
            .returning(A.id).execution_options(dml_strategy="orm"))
    with pytest.raises(exc.InvalidRequestError, match="RETURNING"):
        session.execute(stmt, [{"b_id": 1, "q": 5}, {"b_id": 2, "q": 6}])
    assert read_rows("SELECT x FROM a ORDER BY id") == [(1,), (2,), (3,)]
