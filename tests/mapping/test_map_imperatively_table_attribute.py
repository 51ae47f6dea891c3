"""registry.map_imperatively() gives the class ``__table__`` and ``__mapper__`` as
declarative mapping does, so code written against either style (binds keyed by
``User.__table__``, Core statements on it) works with both."""

from sqlalchemy import Column, ForeignKey, Integer, String, Table, delete, insert, update

from datamapper import Session, inspect, registry


def test_imperative_classes_carry_their_table_and_mapper(engine, read_rows):
    reg = registry()
    people = Table("imp_people", reg.metadata, Column("id", Integer, primary_key=True),
                   Column("name", String(30)), Column("type", String(20)))
    managers = Table("imp_managers", reg.metadata,
                     Column("id", ForeignKey("imp_people.id"), primary_key=True),
                     Column("status", String(20)))

    class Person:
        pass

    class Manager(Person):
        pass

    reg.map_imperatively(Person, people, polymorphic_on=people.c.type,
                         polymorphic_identity="person")
    reg.map_imperatively(Manager, managers, inherits=Person, polymorphic_identity="manager")
    reg.metadata.create_all(engine)
    assert Person.__table__ is people and Manager.__table__ is managers
    assert Person.__mapper__ is inspect(Person) and Manager.__mapper__ is inspect(Manager)

    with Session(binds={Person.__table__: engine, Manager.__table__: engine}) as s:
        s.execute(insert(Person), [{"id": 1, "name": "a"}])
        s.execute(update(Person).where(Person.id == 1).values(name="b"))
        s.add(Manager(id=2, name="m", status="s"))
        s.commit()
        s.execute(delete(Person).where(Person.id == 1))
        s.commit()
    assert read_rows(people) == [(2, "m", "manager")]
    assert read_rows(managers) == [(2, "s")]
