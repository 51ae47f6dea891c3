"""After an ORM UPDATE statement (criteria or by primary key), the session's objects
don't keep stale values of columns the UPDATE changed on its own: a Python onupdate,
a SQL onupdate, a server onupdate, a computed column."""

import pytest
from sqlalchemy import Column, Computed, FetchedValue, Integer, String, literal, update


def _model(Base, engine, kind):
    cols = {"__tablename__": "emp", "id": Column(Integer, primary_key=True),
            "name": Column(String(50))}
    if kind == "callable":
        cols["tag"] = Column(String(50), onupdate=lambda: "value 2")
    elif kind == "sql":
        cols["tag"] = Column(String(50), onupdate=literal("value 2"))
    elif kind == "server":
        cols["tag"] = Column(String(50), server_onupdate=FetchedValue())
    else:
        cols["tag"] = Column(String(80), Computed("name || ' computed'", persisted=True))
    Emp = type("Emp", (Base,), cols)
    Base.metadata.create_all(engine)
    return Emp


@pytest.mark.parametrize("kind", ["callable", "sql", "server", "computed"])
@pytest.mark.parametrize("sync", ["auto", "fetch", "evaluate", "query", "by_pk"])
def test_update_statement_refreshes_onupdate_columns(Base, engine, session, backend_name,
                                                      kind, sync):
    if kind == "computed" and backend_name == "mysql":
        pytest.skip("MariaDB writes || as OR")
    Emp = _model(Base, engine, kind)
    e1 = Emp(id=1, name="old") if kind == "computed" else Emp(id=1, name="old",
                                                              tag="value 1")
    session.add(e1)
    session.flush()
    assert e1.tag == ("old computed" if kind == "computed" else "value 1")
    if kind == "server":  # what a trigger would do on UPDATE
        session.connection().execute(update(Emp.__table__).values(tag="value 2"))
    if sync == "query":
        session.query(Emp).filter(Emp.id == 1).update({"name": "new"})
    elif sync == "by_pk":
        session.execute(update(Emp), [{"id": 1, "name": "new"}])
    else:
        opts = {} if sync == "auto" else {"synchronize_session": sync}
        session.execute(update(Emp).where(Emp.id == 1).values(name="new"),
                        execution_options=opts)
    assert e1.name == "new"
    assert e1.tag == ("new computed" if kind == "computed" else "value 2")


def test_update_statement_keeps_an_unflushed_change_of_an_onupdate_column(
        Base, engine, session):
    Emp = _model(Base, engine, "callable")
    e1 = Emp(id=1, name="old", tag="value 1")
    session.add(e1)
    session.flush()
    e1.tag = "mine"
    with session.no_autoflush:
        session.execute(update(Emp).where(Emp.id == 1).values(name="new"))
    assert e1.tag == "mine"
    session.commit()
    assert e1.tag == "mine"  # the flush wrote it (a value given wins over onupdate)


@pytest.mark.parametrize("returning", [False, True])
@pytest.mark.parametrize("sync", ["auto", "fetch", "evaluate", "query"])
def test_python_onupdate_value_is_set_without_a_select(Base, engine, session, sql_log,
                                                       backend_name, sync, returning):
    """A Python onupdate's value is known once the UPDATE ran: the session's object
    holds it, and reading it sends no SELECT."""
    if returning and (sync == "query" or backend_name == "mysql"):
        pytest.skip("RETURNING: update() statements on backends that have it")
    Emp = _model(Base, engine, "callable")
    e1 = Emp(id=1, name="old", tag="value 1")
    session.add(e1)
    session.flush()
    if sync == "query":
        session.query(Emp).filter(Emp.id == 1).update({"name": "new"})
    else:
        stmt = update(Emp).where(Emp.id == 1).values(name="new")
        if returning:
            stmt = stmt.returning(Emp)
        result = session.execute(stmt, execution_options={"synchronize_session": sync})
        if returning:
            assert result.scalars().all() == [e1]
    assert e1.__dict__.get("tag") == "value 2"
    sql_log.clear()
    assert (e1.name, e1.tag) == ("new", "value 2")
    assert sql_log.statements == []
