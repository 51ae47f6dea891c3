"""``synonym("name")`` mapped over a Python ``property`` of the same name that the
class already defines: instances read and write through that property (its getter
and setter run), the class attribute is still usable in SQL, and what the
property's setter stores in the real column is what the database receives."""

from sqlalchemy import Column, Integer, MetaData, String, Table

from datamapper import registry, synonym


def _mapped(metadata, engine):
    users = Table("users", metadata,
                  Column("id", Integer, primary_key=True),
                  Column("name", String(50)))

    class User:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

        def _get_name(self):
            return "User:" + self.name

        def _set_name(self, name):
            self.name = name + ":User"

        syn_name = property(_get_name, _set_name)

    registry(metadata=metadata).map_imperatively(
        User, users, properties={"syn_name": synonym("name")})
    metadata.create_all(engine)
    return User, users


def test_synonym_uses_existing_property(engine, make_session, read_rows, sql_log):
    User, users = _mapped(MetaData(), engine)
    u = User(syn_name="some name")
    assert u.name == "some name:User"
    assert u.syn_name == "User:some name:User"
    s = make_session()
    s.add(u)
    s.commit()
    assert read_rows(users) == [(u.id, "some name:User")]
    s.close()
    s = make_session()
    sql_log.clear()
    loaded = s.query(User).filter(User.syn_name == "some name:User").one()
    assert "users.name =" in sql_log.statements[0]
    assert loaded.syn_name == "User:some name:User"
    loaded.syn_name = "other"
    s.commit()
    assert read_rows(users) == [(u.id, "other:User")]


def test_a_synonym_of_a_plain_property_is_refused_in_sql(engine, make_session, sql_log):
    """synonym("x") where x is the class's own @property, not a mapped attribute:
    reading works on instances, but using it in SQL is refused (``User.y == 10`` was
    Python's False, and a query filtering on it returned no rows without a word)."""
    import pytest

    from datamapper.exc import InvalidRequestError

    users = Table("users", MetaData(), Column("id", Integer, primary_key=True),
                  Column("name", String(50)))

    class User:
        @property
        def x(self):
            return "hi"

    reg = registry(metadata=users.metadata)
    reg.map_imperatively(User, users, properties={"y": synonym("x")})
    users.metadata.create_all(engine)
    assert User().y == "hi"
    s = make_session()
    sql_log.clear()
    with pytest.raises(InvalidRequestError, match=(
            r"Can't use synonym User.y in a SQL expression: it stands for User.x, which is "
            r"'property', not a mapped attribute")):
        s.query(User).filter(User.y == 10).all()
    assert sql_log.matching("SELECT") == []
    reg.dispose()
