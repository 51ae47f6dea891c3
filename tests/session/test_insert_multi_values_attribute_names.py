"""insert(Class).values([{...}, ...]) (one multi-row INSERT) takes the same keys as
values(name=...) and the list-of-dictionaries form: attribute names whose column
is named otherwise, synonyms, column keys; the rows hold the values given."""

import pytest
from sqlalchemy import Column, Integer, String, func, insert

from datamapper import exc, synonym


@pytest.fixture
def A(Base, engine):
    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        data = Column(String(20))
        x = Column("xcol", Integer)
        xx = synonym("x")

    Base.metadata.create_all(engine)
    return A


@pytest.mark.parametrize("returning", [False, True])
def test_multi_values_by_attribute_name(A, session, read_rows, returning, backend_name):
    if returning and backend_name == "mysql":
        pytest.skip("no INSERT ... RETURNING on MySQL")
    stmt = insert(A).values([{"id": 1, "data": func.lower("D3"), "x": 5},
                             {"id": 2, "data": "d4", "xx": 6}])
    if returning:
        objs = session.scalars(stmt.returning(A)).all()
        assert sorted((o.id, o.data, o.x) for o in objs) == [(1, "d3", 5), (2, "d4", 6)]
    else:
        session.execute(stmt)
    session.commit()
    assert read_rows("SELECT id, data, xcol FROM a ORDER BY id") == [(1, "d3", 5), (2, "d4", 6)]


def test_multi_values_with_an_unmapped_name_is_refused(A, session, sql_log):
    with pytest.raises(exc.InvalidRequestError, match="'nope'"):
        session.execute(insert(A).values([{"id": 1, "nope": 5}]))
    assert not [s for s in sql_log.statements if s.startswith("INSERT")]
