"""bulk_save_objects() of joined-table inheritance subclasses writes every table of
the class: a new Manager is a row in people and one in managers (base first, the
subclass row given the base row's key), an UPDATE reaches the table of each
changed column.  (It used to INSERT and UPDATE the subclass's own table only: the
base rows were never written.)"""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String

from datamapper import DeclarativeBase, Mapped, Session, inspect, mapped_column


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Person(Base):
        __tablename__ = "bsj_people"
        person_id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        type: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "bsj_engineers"
        person_id: Mapped[int] = mapped_column(ForeignKey("bsj_people.person_id"),
                                               primary_key=True)
        language: Mapped[str | None] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "bsj_managers"
        person_id: Mapped[int] = mapped_column(ForeignKey("bsj_people.person_id"),
                                               primary_key=True)
        status: Mapped[str | None] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Boss(Manager):
        __tablename__ = "bsj_boss"
        boss_id: Mapped[int] = mapped_column(ForeignKey("bsj_managers.person_id"),
                                             primary_key=True)
        golf: Mapped[str | None] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_identity": "boss"}

    metadata.create_all(engine)
    return Person, Engineer, Manager, Boss


def _tables(read_rows):
    return (read_rows("SELECT person_id, name, type FROM bsj_people ORDER BY person_id"),
            read_rows("SELECT person_id, language FROM bsj_engineers ORDER BY person_id"),
            read_rows("SELECT person_id, status FROM bsj_managers ORDER BY person_id"),
            read_rows("SELECT boss_id, golf FROM bsj_boss ORDER BY boss_id"))


def test_new_objects_with_keys_get_a_row_in_every_table(models, engine, read_rows):
    _P, Engineer, Manager, Boss = models
    with Session(engine) as s:
        s.bulk_save_objects([Manager(person_id=1, name="m1", status="s1"),
                             Engineer(person_id=2, name="e1", language="py"),
                             Engineer(person_id=3, name="e2", language="c"),
                             Boss(person_id=4, boss_id=4, name="b1", status="s2", golf="g")])
        s.commit()
    assert _tables(read_rows) == (
        [(1, "m1", "manager"), (2, "e1", "engineer"), (3, "e2", "engineer"), (4, "b1", "boss")],
        [(2, "py"), (3, "c")],
        [(1, "s1"), (4, "s2")],
        [(4, "g")])


@pytest.mark.parametrize("return_defaults", [True, False])
def test_generated_keys_reach_the_subclass_rows(models, engine, read_rows, return_defaults):
    _P, Engineer, Manager, Boss = models
    objs = [Manager(name="m1", status="s1"), Engineer(name="e1", language="py"),
            Engineer(name="e2", language="c"), Boss(name="b1", status="s2", golf="g")]
    with Session(engine) as s:
        s.bulk_save_objects(objs, return_defaults=return_defaults)
        s.commit()
    people, engineers, managers, boss = _tables(read_rows)
    assert [(n, t) for _k, n, t in people] == [
        ("m1", "manager"), ("e1", "engineer"), ("e2", "engineer"), ("b1", "boss")]
    ids = [k for k, _n, _t in people]
    assert engineers == [(ids[1], "py"), (ids[2], "c")]
    assert managers == [(ids[0], "s1"), (ids[3], "s2")]
    assert boss == [(ids[3], "g")]
    if return_defaults:
        assert [o.person_id for o in objs] == ids
        assert objs[3].boss_id == ids[3]
        assert all(inspect(o).detached for o in objs)
    else:
        assert all(inspect(o).transient for o in objs)


def test_saved_objects_are_updated_by_the_next_save(models, engine, read_rows):
    _P, _E, Manager, Boss = models
    objs = [Manager(name="m1", status="s1"), Boss(name="b1", status="s2", golf="g")]
    with Session(engine) as s:
        s.bulk_save_objects(objs, return_defaults=True)
        objs[0].name = "m1 new"          # a base table column
        objs[1].golf = "g new"           # the deepest table's column
        objs[1].status = "s2 new"        # the middle table's column
        s.bulk_save_objects(objs)
        s.commit()
    people, _e, managers, boss = _tables(read_rows)
    assert [n for _k, n, _t in people] == ["m1 new", "b1"]
    assert [st for _k, st in managers] == ["s1", "s2 new"]
    assert [g for _k, g in boss] == ["g new"]


@pytest.mark.parametrize("update_changed_only", [True, False])
def test_persistent_objects_update_every_table(models, engine, read_rows,
                                               update_changed_only):
    _P, _E, Manager, Boss = models
    with Session(engine) as s:
        s.add_all([Manager(person_id=1, name="m1", status="s1"),
                   Boss(person_id=2, name="b1", status="s2", golf="g")])
        s.commit()
    with Session(engine) as s:
        m, b = s.get(Manager, 1), s.get(Boss, 2)
        m.name, m.status = "m1 new", "s1 new"
        b.name, b.golf = "b1 new", "g new"
        s.bulk_save_objects([m, b], update_changed_only=update_changed_only)
        s.commit()
    assert _tables(read_rows) == ([(1, "m1 new", "manager"), (2, "b1 new", "boss")], [],
                                  [(1, "s1 new"), (2, "s2")], [(2, "g new")])
