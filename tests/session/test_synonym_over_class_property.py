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
