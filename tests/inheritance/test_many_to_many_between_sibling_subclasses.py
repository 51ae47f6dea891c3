"""A many-to-many between two joined-table subclasses of one base (Engineer.managers
to Manager) whose association table refers to the base table's key: both ends read
the base table, so the target's rows come from an alias of its tables wherever the
parent's are in the same statement (any(), joined eager loads); the association rows
written are the ones the collections hold."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import joinedload, relationship, selectinload, subqueryload


@pytest.fixture
def staff(Base, engine, make_session):
    assoc = Table("sib_eng_mgr", Base.metadata,
                  Column("eng_id", ForeignKey("sib_person.id"), primary_key=True),
                  Column("mgr_id", ForeignKey("sib_person.id"), primary_key=True))

    class Person(Base):
        __tablename__ = "sib_person"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "sib_engineer"
        id = Column(ForeignKey("sib_person.id"), primary_key=True)
        lang = Column(String(20))
        managers = relationship(
            "Manager", secondary=assoc,
            primaryjoin=lambda: Person.id == assoc.c.eng_id,
            secondaryjoin=lambda: Person.id == assoc.c.mgr_id,
            backref="engineers", order_by=lambda: Person.name)
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "sib_manager"
        id = Column(ForeignKey("sib_person.id"), primary_key=True)
        level = Column(Integer)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    Base.metadata.create_all(engine)
    s = make_session()
    m1, m2 = Manager(id=10, name="m1", level=1), Manager(id=11, name="m2", level=2)
    s.add_all([Engineer(id=1, name="e1", lang="py", managers=[m2, m1]),
               Engineer(id=2, name="e2", lang="c", managers=[m2])])
    s.commit()
    s.close()
    return Engineer, Manager, assoc


def test_association_rows_are_the_collections(staff, make_session, read_rows):
    Engineer, Manager, assoc = staff
    assert read_rows(assoc.select().order_by(assoc.c.eng_id, assoc.c.mgr_id)) == [
        (1, 10), (1, 11), (2, 11)]
    s = make_session()
    s.get(Engineer, 1).managers.remove(s.get(Manager, 10))
    s.commit()
    assert read_rows(assoc.select().order_by(assoc.c.eng_id, assoc.c.mgr_id)) == [
        (1, 11), (2, 11)]


@pytest.mark.parametrize("opt", [None, joinedload, selectinload, subqueryload])
def test_loads_the_related_siblings(staff, make_session, opt):
    Engineer, Manager, _a = staff
    s = make_session()
    q = s.query(Engineer).order_by(Engineer.id)
    if opt is not None:
        q = q.options(opt(Engineer.managers))
    assert [(e.name, [m.name for m in e.managers]) for e in q] == [
        ("e1", ["m1", "m2"]), ("e2", ["m2"])]
    s.close()
    q = s.query(Manager).order_by(Manager.id)
    if opt is not None:
        q = q.options(opt(Manager.engineers))
    assert [(m.name, sorted(e.name for e in m.engineers)) for m in q] == [
        ("m1", ["e1"]), ("m2", ["e1", "e2"])]


def test_any_filters_by_the_related_siblings_row(staff, make_session):
    Engineer, Manager, _a = staff
    s = make_session()
    assert [e.name for e in s.query(Engineer).filter(
        Engineer.managers.any(Manager.level == 1))] == ["e1"]
    assert [e.name for e in s.query(Engineer).filter(
        Engineer.managers.any(Manager.name == "m2")).order_by(Engineer.id)] == ["e1", "e2"]
    assert [m.name for m in s.query(Manager).filter(
        Manager.engineers.any(Engineer.lang == "c"))] == ["m2"]
    assert [m.name for m in s.query(Manager).filter(~Manager.engineers.any())] == []
    assert [e.name for e in s.query(Engineer).filter(
        Engineer.managers.contains(s.get(Manager, 10)))] == ["e1"]
