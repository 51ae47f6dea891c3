"""update(aliased(Class)) / delete(aliased(Class)) with criteria on the alias: only
the rows the criteria select change, and only their objects in the session follow
(synchronize_session 'fetch' reads the keys from the alias, not from a cross join
of the table with its alias)."""

import pytest
from sqlalchemy import Boolean, Column, Integer, String, delete, select, update

from datamapper import aliased


@pytest.fixture
def Doc(Base, engine, make_session):
    class Doc(Base):
        __tablename__ = "docs"
        id = Column(Integer, primary_key=True)
        title = Column(String(20))
        flag = Column(Boolean, default=False)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Doc(id=1, title="foo"), Doc(id=2, title="baz"), Doc(id=3, title="bar")])
    s.commit()
    s.close()
    return Doc


@pytest.mark.parametrize("sync", ["fetch", "auto"])
def test_update_of_an_alias_changes_only_the_matching_objects(Doc, session, read_rows,
                                                              backend_name, sync):
    if backend_name == "mysql":
        pytest.skip("MySQL has no UPDATE of a table alias")
    docs = session.scalars(select(Doc).order_by(Doc.id)).all()
    d1 = aliased(Doc)
    session.execute(update(d1).where(d1.title == "baz").values(flag=True),
                    execution_options={"synchronize_session": sync})
    assert [d.flag for d in docs] == [False, True, False]
    session.commit()
    assert read_rows("SELECT id, flag FROM docs ORDER BY id") == [
        (1, False), (2, True), (3, False)]


@pytest.mark.parametrize("sync", ["fetch", "auto"])
def test_delete_of_an_alias_removes_only_the_matching_objects(Doc, session, read_rows,
                                                              backend_name, sync):
    if backend_name == "mysql":
        pytest.skip("MySQL has no DELETE of a table alias")
    docs = session.scalars(select(Doc).order_by(Doc.id)).all()
    d1 = aliased(Doc)
    session.execute(delete(d1).where(d1.title == "baz"),
                    execution_options={"synchronize_session": sync})
    assert [d in session for d in docs] == [True, False, True]
    session.commit()
    assert read_rows("SELECT id FROM docs ORDER BY id") == [(1,), (3,)]


def test_evaluate_of_criteria_on_an_alias_is_refused_before_any_sql(Doc, session, sql_log):
    from datamapper import exc

    session.scalars(select(Doc)).all()
    d1 = aliased(Doc)
    sql_log.clear()
    with pytest.raises(exc.InvalidRequestError, match="synchronize_session='fetch'"):
        session.execute(delete(d1).where(d1.title == "baz"),
                        execution_options={"synchronize_session": "evaluate"})
    assert sql_log.statements == []
