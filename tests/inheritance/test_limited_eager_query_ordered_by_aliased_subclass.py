"""A LIMITed/OFFSET query with a joined eager collection runs as a subquery the eager
joins hang off; ordered by an attribute of an aliased() joined-table subclass
(``aliased(Manager).id``: a label, "id"), the subquery selects the labelled column and
both ORDER BYs read it.  Before, the ORDER BY named the label "id", which outside
the aliased subquery is whatever column of that name is in reach: rows came back in
the wrong order."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import aliased, joinedload, relationship, select


@pytest.fixture
def people(Base, engine, make_session):
    class Person(Base):
        __tablename__ = "lo_person"
        id = Column(Integer, primary_key=True)
        manager_id = Column(ForeignKey("lo_person.id"))
        type = Column(String(20))
        notes = relationship("Note", order_by="Note.id")
        manager = relationship("Manager", primaryjoin="Person.manager_id == Manager.id",
                               foreign_keys=manager_id, remote_side="Manager.id")
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Manager(Person):
        __tablename__ = "lo_manager"
        id = Column(ForeignKey("lo_person.id"), primary_key=True)
        data = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "manager",
                           "inherit_condition": id == Person.id}

    class Note(Base):
        __tablename__ = "lo_note"
        id = Column(Integer, primary_key=True)
        person_id = Column(ForeignKey("lo_person.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    m1 = Manager(id=1, data="d1")
    m2 = Manager(id=2, data="d2", manager=m1, notes=[Note(id=1)])
    s.add_all([m1, m2, Person(id=3, manager=m1, notes=[Note(id=2), Note(id=3)]),
               Person(id=4, manager=m1), Manager(id=5, data="d5", manager=m2, notes=[Note(id=4)])])
    s.commit()
    s.close()
    return Person, Manager


@pytest.mark.parametrize("api", ["select", "query"])
def test_offset_query_ordered_by_aliased_subclass_column(people, make_session, api):
    Person, Manager = people
    m = aliased(Manager)
    s = make_session()
    if api == "select":
        stmt = select(Person).join(Person.manager.of_type(m)) \
            .order_by(m.id, Person.id.desc()).options(joinedload(Person.notes)).offset(1)
        got = s.scalars(stmt).unique().all()
    else:
        got = s.query(Person).join(Person.manager.of_type(m)) \
            .order_by(m.id, Person.id.desc()).options(joinedload(Person.notes)).offset(1).all()
    assert [(p.id, [n.id for n in p.notes]) for p in got] == [
        (3, [2, 3]), (2, [1]), (5, [4])]
    s.close()
    got = s.query(Person).join(Person.manager.of_type(m)) \
        .order_by(m.id.desc(), Person.id).options(joinedload(Person.notes)).limit(2).all()
    assert [p.id for p in got] == [5, 2]
