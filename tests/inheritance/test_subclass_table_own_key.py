"""Joined-table inheritance where the subclass table has a primary key of its own
(``engineer.id``), joined to the base on another column (``engineer.person_name`` =
``person.name``, the base's natural key).  The object's identity is the base key, but
the subclass row is found by its own key: an UPDATE or DELETE of the subclass table
must name ``engineer.id``, never the base key's value."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from datamapper import registry


@pytest.fixture
def models(engine):
    md = MetaData()
    # no FOREIGN KEY constraint: the database does not cascade a key change
    person = Table("oks_person", md, Column("name", String(50), primary_key=True),
                   Column("type", String(50), nullable=False))
    engineer = Table("oks_engineer", md, Column("id", Integer, primary_key=True),
                     Column("person_name", String(50)),
                     Column("primary_language", String(50)))

    class Person:
        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)

    class Engineer(Person):
        pass

    reg = registry()
    reg.map_imperatively(Person, person, polymorphic_on=person.c.type,
                         polymorphic_identity="person", passive_updates=False)
    reg.map_imperatively(Engineer, engineer, inherits=Person,
                         inherit_condition=person.c.name == engineer.c.person_name,
                         polymorphic_identity="engineer")
    md.create_all(engine)
    yield person, engineer, Person, Engineer
    reg.dispose()


def _two(session):
    from sqlalchemy import insert

    person, engineer = session.info["tables"]
    conn = session.connection()
    conn.execute(insert(person), [{"name": "dilbert", "type": "engineer"},
                                  {"name": "alice", "type": "engineer"}])
    # the subclass keys differ from the order of the base keys on purpose
    conn.execute(insert(engineer), [{"id": 7, "person_name": "dilbert",
                                     "primary_language": "java"},
                                    {"id": 3, "person_name": "alice",
                                     "primary_language": "c"}])
    session.commit()


@pytest.mark.parametrize("expired", [False, True], ids=["loaded", "expired"])
def test_update_of_subclass_column_finds_row_by_its_own_key(models, session, read_rows,
                                                           expired):
    person, engineer, Person, Engineer = models
    session.info["tables"] = (person, engineer)
    _two(session)
    e = session.get(Engineer, "dilbert")
    if expired:
        session.expire(e)
    e.primary_language = "c++"
    session.commit()
    assert read_rows(engineer) == [(3, "alice", "c"), (7, "dilbert", "c++")]


def test_base_key_change_is_copied_into_subclass_row(models, session, read_rows):
    """passive_updates=False: the new base key goes into the subclass row's join
    column, which is found by its own key."""
    person, engineer, Person, Engineer = models
    session.info["tables"] = (person, engineer)
    _two(session)
    e = session.get(Engineer, "dilbert")
    session.expire(e)
    e.name = "wally"
    e.primary_language = "c++"
    session.flush()
    assert e.person_name == "wally"
    session.commit()
    assert read_rows(person) == [("alice", "engineer"), ("wally", "engineer")]
    assert read_rows(engineer) == [(3, "alice", "c"), (7, "wally", "c++")]
    session.expire_all()
    assert (e.name, e.id, e.primary_language) == ("wally", 7, "c++")


def test_delete_removes_subclass_row_by_its_own_key(models, session, read_rows):
    person, engineer, Person, Engineer = models
    session.info["tables"] = (person, engineer)
    _two(session)
    e = session.get(Engineer, "dilbert")
    session.expire(e)
    session.delete(e)
    session.commit()
    assert read_rows(person) == [("alice", "engineer")]
    assert read_rows(engineer) == [(3, "alice", "c")]


def test_new_object_gets_subclass_key_and_join_column(models, session, read_rows):
    person, engineer, Person, Engineer = models
    session.add(Engineer(name="bob", primary_language="go"))
    session.commit()
    assert read_rows(person) == [("bob", "engineer")]
    assert [r[1:] for r in read_rows(engineer)] == [("bob", "go")]


def test_row_switch_writes_subclass_row_found_by_its_own_key(models, session, read_rows):
    """The deleted object's rows take the new object's values (same identity): the
    subclass row is found by the deleted object's own key."""
    person, engineer, Person, Engineer = models
    session.info["tables"] = (person, engineer)
    _two(session)
    old = session.get(Engineer, "dilbert")
    session.expire(old)
    session.delete(old)
    new = Engineer(name="dilbert", primary_language="rust")
    session.add(new)
    session.commit()
    assert new.id == 7
    assert read_rows(person) == [("alice", "engineer"), ("dilbert", "engineer")]
    assert [r[1:] for r in read_rows(engineer)] == [("alice", "c"), ("dilbert", "rust")]
