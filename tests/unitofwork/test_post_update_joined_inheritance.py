"""Post-updates (post_update=True, or a cycle the flush breaks) of joined-table
subclass objects.

The post-update UPDATE used the subclass's mapper as if it had one table: it
updated the subclass table with a WHERE on the base table's key column, which
Core renders as ``UPDATE engineer SET boss_id=? FROM person WHERE person.id = ?``,
an UPDATE of *every* engineer row (the flush then failed with StaleDataError once
there were two), and it left out the foreign keys stored in the base table
(``person.buddy_id``): those were never written.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import declarative_base, relationship
from datamapper.session import Session


def _models(metadata, engine, post_update: bool):
    Base = declarative_base(metadata=metadata)

    class Person(Base):
        __tablename__ = "pji_person"
        id = Column(Integer, primary_key=True, autoincrement=False)
        type = Column(String(10))
        buddy_id = Column(Integer, ForeignKey("pji_person.id"))
        buddy = relationship("Person", remote_side=id, post_update=post_update)
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "pji_engineer"
        id = Column(Integer, ForeignKey("pji_person.id"), primary_key=True)
        boss_id = Column(Integer, ForeignKey("pji_manager.id", use_alter=True,
                                             name="pji_fk_boss"))
        boss = relationship("Manager", foreign_keys=[boss_id], back_populates="reports",
                            post_update=post_update)
        __mapper_args__ = {"polymorphic_identity": "engineer", "inherit_condition": id == Person.id}

    class Manager(Person):
        __tablename__ = "pji_manager"
        id = Column(Integer, ForeignKey("pji_person.id"), primary_key=True)
        assistant_id = Column(Integer, ForeignKey("pji_engineer.id"))
        assistant = relationship("Engineer", foreign_keys=[assistant_id],
                                 post_update=post_update)
        reports = relationship("Engineer", foreign_keys=[Engineer.boss_id],
                               back_populates="boss")
        __mapper_args__ = {"polymorphic_identity": "manager", "inherit_condition": id == Person.id}

    metadata.create_all(engine)
    return Person, Engineer, Manager


@pytest.mark.parametrize("post_update", [True, False], ids=["post_update", "cycle"])
def test_post_updates_write_each_table_of_the_row_they_belong_to(
        engine, metadata, read_rows, sql_log, post_update):
    Person, Engineer, Manager = _models(metadata, engine, post_update)
    s = Session(engine)
    s.add(Engineer(id=10))  # a row the post-updates of others must leave alone
    s.commit()
    m = Manager(id=1)
    en = Engineer(id=2, boss=m)
    m.assistant = en
    en.buddy = m
    m.buddy = en
    s.add_all([m, en])
    sql_log.clear()
    s.commit()
    assert not [q for q in sql_log.statements if " FROM " in q and q.startswith("UPDATE")]
    assert read_rows(Person.__table__) == [(1, "manager", 2), (2, "engineer", 1),
                                           (10, "engineer", None)]
    assert read_rows(Engineer.__table__) == [(2, 1), (10, None)]
    assert read_rows(Manager.__table__) == [(1, 2)]

    en3 = Engineer(id=3, boss=m)
    m.assistant = en3
    en3.buddy = en
    s.commit()
    assert read_rows(Person.__table__) == [(1, "manager", 2), (2, "engineer", 1),
                                           (3, "engineer", 2), (10, "engineer", None)]
    assert read_rows(Engineer.__table__) == [(2, 1), (3, 1), (10, None)]
    assert read_rows(Manager.__table__) == [(1, 3)]

    s.delete(en)
    s.delete(m)
    en3.boss = None
    en3.buddy = None
    s.commit()
    assert read_rows(Person.__table__) == [(3, "engineer", None), (10, "engineer", None)]
    assert read_rows(Engineer.__table__) == [(3, None), (10, None)]
    assert read_rows(Manager.__table__) == []
