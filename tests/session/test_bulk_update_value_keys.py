"""The keys a bulk UPDATE's new values may be given by: a synonym (by name or as
the class attribute, also a synonym of a synonym), an object with
``__clause_element__()``, a plain ``column("name")``.  The row is updated and the
session's object shows the new value; a key that is no column is refused by name."""

import pytest
from sqlalchemy import Column, Integer, String, column, update

from datamapper import exc, synonym


@pytest.fixture
def Foo(Base, engine, make_session):
    class Foo(Base):
        __tablename__ = "foo"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        uname = synonym("name")
        ufoo = synonym("uname")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Foo(id=1, name="jill"), Foo(id=2, name="jack")])
    s.commit()
    s.close()
    return Foo


class _Thing:
    def __init__(self, target):
        self.target = target

    def __clause_element__(self):
        return self.target.__clause_element__()


KEYS = {
    "synonym_name": lambda F: "uname",
    "synonym_attr": lambda F: F.uname,
    "synonym_of_synonym": lambda F: F.ufoo,
    "synonym_of_synonym_name": lambda F: "ufoo",
    "clause_element": lambda F: _Thing(F.name),
    "plain_column": lambda F: column("name"),
}


@pytest.mark.parametrize("sync", ["evaluate", "fetch"])
@pytest.mark.parametrize("key", sorted(KEYS))
def test_query_update_by_key(Foo, session, read_rows, key, sync):
    jill = session.get(Foo, 1)
    session.query(Foo).filter(Foo.id == 1).update({KEYS[key](Foo): "moonbeam"},
                                                  synchronize_session=sync)
    assert jill.name == "moonbeam"
    session.commit()
    assert read_rows("SELECT id, name FROM foo ORDER BY id") == [(1, "moonbeam"), (2, "jack")]


@pytest.mark.parametrize("key", ["synonym_name", "synonym_attr", "synonym_of_synonym"])
def test_statement_update_by_key(Foo, session, read_rows, key):
    jill = session.get(Foo, 1)
    k = KEYS[key](Foo)
    stmt = update(Foo).where(Foo.uname == "jill")
    stmt = stmt.values(**{k: "moonbeam"}) if isinstance(k, str) else stmt.values({k: "moonbeam"})
    session.execute(stmt)
    assert jill.name == "moonbeam"
    session.commit()
    assert read_rows("SELECT id, name FROM foo ORDER BY id") == [(1, "moonbeam"), (2, "jack")]


def test_clause_element_that_is_no_column_is_refused(Foo, session):
    class Bad:
        def __clause_element__(self):
            return 5

    with pytest.raises(exc.ArgumentError, match="SET/VALUES column expression"):
        session.query(Foo).update({Bad(): "x"}, synchronize_session="evaluate")
