"""A relationship between a joined-table base class and its own subclass
(``Person.manager`` -> ``Manager(Person)``, ``Manager.reports`` -> ``Person``): the
two ends share the base table, whose columns in the join condition stand for the
parent's row; only the subclass's table stands for the target's.  And joins along
a subclass's relationships from a select() of the subclass."""

import warnings

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.exc import SAWarning

from datamapper import (
    aliased,
    declarative_base,
    joinedload,
    relationship,
    select,
    selectinload,
)


@pytest.fixture
def models(engine):
    Base = declarative_base()

    class Person(Base):
        __tablename__ = "person"
        id = Column(Integer, primary_key=True, autoincrement=False)
        manager_id = Column(ForeignKey("person.id"))
        type = Column(String(20))
        manager = relationship(
            "Manager", primaryjoin="Person.manager_id == Manager.id",
            foreign_keys=manager_id, remote_side="Manager.id", back_populates="reports")
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Manager(Person):
        __tablename__ = "manager"
        id = Column(ForeignKey("person.id"), primary_key=True)
        data = Column(String(20))
        reports = relationship(
            "Person", primaryjoin="Person.manager_id == Manager.id",
            foreign_keys="Person.manager_id", back_populates="manager",
            order_by="Person.id")
        notes = relationship("Note", order_by="Note.id")
        __mapper_args__ = {"polymorphic_identity": "manager",
                           "inherit_condition": id == Person.id}

    class Note(Base):
        __tablename__ = "note"
        id = Column(Integer, primary_key=True, autoincrement=False)
        manager_id = Column(ForeignKey("manager.id"))

    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)  # no spurious remote_side warning
        Base.metadata.create_all(engine)
        from datamapper import configure_mappers
        configure_mappers()
    return Person, Manager, Note


@pytest.fixture
def people(models, make_session):
    Person, Manager, Note = models
    s = make_session()
    m1 = Manager(id=1, data="d1", notes=[Note(id=1)])
    m2 = Manager(id=2, data="d2", manager=m1)
    s.add_all([m1, m2, Person(id=3, manager=m1), Person(id=4, manager=m2), Person(id=5)])
    s.commit()
    s.close()
    return models


def _ids(objs):
    return [o.id for o in objs]


def test_subclass_attribute_of_a_combined_key_is_the_subclass_column(models):
    _Person, Manager, _Note = models
    assert Manager.id.expression.table.name == "manager"
    assert Manager.__mapper__.attrs["id"].expression.table.name == "manager"


def test_flush_writes_the_subclass_key_to_the_referring_row(people, read_rows):
    assert read_rows("SELECT id, manager_id, type FROM person ORDER BY id") == [
        (1, None, "manager"), (2, 1, "manager"), (3, 1, "person"), (4, 2, "person"),
        (5, None, "person")]
    assert read_rows("SELECT id, data FROM manager ORDER BY id") == [(1, "d1"), (2, "d2")]


@pytest.mark.parametrize("loader", [None, joinedload, selectinload])
def test_many_to_one_to_subclass_loads_the_referred_row(people, make_session, loader):
    Person, Manager, _Note = people
    s = make_session()
    stmt = select(Person).order_by(Person.id)
    if loader is not None:
        stmt = stmt.options(loader(Person.manager))
    got = [(p.id, p.manager.id if p.manager is not None else None)
           for p in s.scalars(stmt)]
    assert got == [(1, None), (2, 1), (3, 1), (4, 2), (5, None)]


@pytest.mark.parametrize("loader", [None, joinedload, selectinload])
def test_one_to_many_from_subclass_loads_the_referring_rows(people, make_session, loader):
    _Person, Manager, _Note = people
    s = make_session()
    stmt = select(Manager).order_by(Manager.id)
    if loader is not None:
        stmt = stmt.options(loader(Manager.reports))
    got = [(m.id, _ids(m.reports)) for m in s.scalars(stmt).unique()]
    assert got == [(1, [2, 3]), (2, [4])]


@pytest.mark.parametrize("flat", [False, True])
def test_join_to_aliased_subclass_matches_the_referred_row(people, make_session, flat):
    Person, Manager, _Note = people
    s = make_session()
    m = aliased(Manager, flat=flat)
    stmt = select(Person).join(Person.manager.of_type(m)).order_by(Person.id)
    assert _ids(s.scalars(stmt)) == [2, 3, 4]
    assert _ids(s.scalars(stmt.where(m.data == "d2"))) == [4]
    q = s.query(Person).join(Person.manager.of_type(m)).filter(m.data == "d1")
    assert _ids(q.order_by(Person.id)) == [2, 3]


def test_join_from_subclass_to_aliased_base(people, make_session):
    Person, Manager, _Note = people
    s = make_session()
    p = aliased(Person)
    stmt = select(Manager).join(Manager.reports.of_type(p)).where(p.id == 4)
    assert _ids(s.scalars(stmt)) == [2]


def test_has_and_any_between_base_and_subclass(people, make_session):
    Person, Manager, _Note = people
    s = make_session()
    assert _ids(s.scalars(select(Person).where(Person.manager.has(Manager.data == "d2"))
                          .order_by(Person.id))) == [4]
    assert _ids(s.scalars(select(Person).where(Person.manager.has())
                          .order_by(Person.id))) == [2, 3, 4]
    assert _ids(s.scalars(select(Manager).where(Manager.reports.any(Person.id == 4))
                          .order_by(Manager.id))) == [2]
    assert _ids(s.scalars(select(Manager).where(~Manager.reports.any())
                          .order_by(Manager.id))) == []
    # criteria on the base table's columns name the related row, not the parent's
    assert _ids(s.scalars(select(Person).where(Person.manager.has(Manager.manager_id == 1))
                          .order_by(Person.id))) == [4]
    assert _ids(s.scalars(select(Person).where(Person.manager.has(Manager.id == 2))
                          .order_by(Person.id))) == [4]
    assert _ids(s.scalars(select(Manager).where(Manager.reports.any(Person.type == "manager"))
                          .order_by(Manager.id))) == [1]


def test_compare_many_to_one_with_subclass_object(people, make_session):
    Person, Manager, _Note = people
    s = make_session()
    m1 = s.get(Manager, 1)
    assert _ids(s.scalars(select(Person).where(Person.manager == m1)
                          .order_by(Person.id))) == [2, 3]
    assert _ids(s.scalars(select(Person).where(Person.manager != m1)
                          .order_by(Person.id))) == [1, 4, 5]
    assert _ids(s.scalars(select(Person).where(Person.manager == None)  # noqa: E711
                          .order_by(Person.id))) == [1, 5]
    p3 = s.get(Person, 3)
    assert _ids(s.scalars(select(Manager).where(Manager.reports.contains(p3)))) == [1]


def test_select_of_subclass_joins_along_its_relationship(people, make_session):
    _Person, Manager, Note = people
    s = make_session()
    assert _ids(s.scalars(select(Manager).join(Manager.notes))) == [1]
    assert _ids(s.scalars(select(Manager).join(Note, Manager.notes))) == [1]
    assert _ids(s.scalars(select(Manager).join(Note))) == [1]
    assert _ids(s.query(Manager).join(Manager.notes)) == [1]
