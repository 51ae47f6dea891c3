"""A statement naming an inheriting class reads only that class's rows, wherever the
class appears: the columns, a nested SELECT (subquery, IN, scalar subquery, EXISTS,
a union member), a join target, select_from(), the WHERE clause.

Each program runs on SQLAlchemy's own ORM and on datamapper, over the same rows;
both must return the same result (and the one written here)."""

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, func, select
from sqlalchemy import orm as sa_orm

import datamapper


def _build(orm: Any, prefix: str) -> SimpleNamespace:
    """Companies with single-table employees, and people with a joined-table
    subclass, mapped by ``orm`` (sqlalchemy.orm or datamapper) on tables named
    ``<prefix>...``."""
    Base = orm.declarative_base()

    class Company(Base):
        __tablename__ = f"{prefix}companies"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        engineers = orm.relationship("Engineer", viewonly=True)
        managers = orm.relationship("Manager", viewonly=True)

    class Employee(Base):
        __tablename__ = f"{prefix}employees"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        type = Column(String(20))
        company_id = Column(ForeignKey(f"{prefix}companies.id"))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "employee"}

    class Engineer(Employee):
        language = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Employee):
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Person(Base):
        __tablename__ = f"{prefix}people"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Pilot(Person):
        __tablename__ = f"{prefix}pilots"
        id = Column(ForeignKey(f"{prefix}people.id"), primary_key=True)
        plane = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "pilot"}

    return SimpleNamespace(Base=Base, Company=Company, Employee=Employee,
                           Engineer=Engineer, Manager=Manager, Person=Person, Pilot=Pilot,
                           aliased=orm.aliased, Session=orm.Session)


def _fill(m: SimpleNamespace, s: Any) -> None:
    c1, c2, c3 = (m.Company(id=i, name=f"c{i}") for i in (1, 2, 3))
    s.add_all([c1, c2, c3])
    s.flush()
    s.add_all([
        m.Employee(id=1, name="emp1", company_id=1),
        m.Engineer(id=2, name="eng2", language="py", company_id=1),
        m.Manager(id=3, name="mgr3", company_id=1),
        m.Manager(id=4, name="mgr4", company_id=2),
        m.Engineer(id=5, name="eng5", language="c", company_id=3),
        m.Engineer(id=6, name="eng6", language="go", company_id=3),
        m.Person(id=1, name="per1"),
        m.Pilot(id=2, name="pil2", plane="jet"),
        m.Person(id=3, name="per3"),
        m.Pilot(id=4, name="pil4", plane="prop"),
    ])
    s.commit()


def _rows(result: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in result)


def _names(objs: Any) -> list[str]:
    return sorted(o.name for o in objs)


Program = Callable[[SimpleNamespace, Any], Any]

PROGRAMS: dict[str, tuple[Program, Any]] = {
    # a joined-table subclass's column on the base table: only the subclass's rows
    "joined_base_column": (
        lambda m, s: _rows(s.execute(select(m.Pilot.name))),
        [("pil2",), ("pil4",)]),
    "joined_own_column": (
        lambda m, s: _rows(s.execute(select(m.Pilot.plane))),
        [("jet",), ("prop",)]),
    "joined_count": (
        lambda m, s: s.scalar(select(func.count(m.Pilot.id))), 2),
    "joined_column_filtered": (
        lambda m, s: _rows(s.execute(select(m.Pilot.name).where(m.Pilot.name != "x"))),
        [("pil2",), ("pil4",)]),
    "joined_in_subquery": (
        lambda m, s: _rows(s.execute(select(m.Person.name).where(
            m.Person.id.in_(select(m.Pilot.id))))),
        [("pil2",), ("pil4",)]),
    "joined_subquery": (
        lambda m, s: _rows(s.execute(select(select(m.Pilot.name).subquery().c.name))),
        [("pil2",), ("pil4",)]),
    "joined_union": (
        lambda m, s: _rows(s.execute(select(m.Pilot.name).union_all(
            select(m.Person.name).where(m.Person.id == 1)))),
        [("per1",), ("pil2",), ("pil4",)]),
    "query_joined_base_column": (
        lambda m, s: _rows(s.query(m.Pilot.name)), [("pil2",), ("pil4",)]),
    "query_joined_count": (
        lambda m, s: s.query(func.count(m.Pilot.id)).scalar(), 2),
    # a single-table subclass used nested
    "single_in_subquery": (
        lambda m, s: _rows(s.execute(select(m.Employee.name).where(
            m.Employee.id.in_(select(m.Engineer.id))))),
        [("eng2",), ("eng5",), ("eng6",)]),
    "single_subquery": (
        lambda m, s: _rows(s.execute(select(select(m.Engineer.name).subquery().c.name))),
        [("eng2",), ("eng5",), ("eng6",)]),
    "single_entity_subquery": (
        lambda m, s: _rows(s.execute(select(select(m.Manager).subquery().c.name))),
        [("mgr3",), ("mgr4",)]),
    "single_scalar_subquery": (
        lambda m, s: s.scalar(select(select(func.count(m.Engineer.id)).scalar_subquery())),
        3),
    "single_correlated_scalar_subquery": (
        lambda m, s: _rows(s.execute(select(
            m.Company.name,
            select(func.count(m.Engineer.id)).where(
                m.Engineer.company_id == m.Company.id).scalar_subquery()))),
        [("c1", 1), ("c2", 0), ("c3", 2)]),
    "single_exists": (
        lambda m, s: _rows(s.execute(select(m.Company.name).where(
            select(m.Manager.id).where(m.Manager.company_id == m.Company.id).exists()))),
        [("c1",), ("c2",)]),
    "single_query_in_subquery": (
        lambda m, s: _names(s.query(m.Company).filter(
            m.Company.id.in_(s.query(m.Manager.company_id)))),
        ["c1", "c2"]),
    "single_union": (
        lambda m, s: _rows(s.execute(select(m.Engineer.name).union_all(
            select(m.Manager.name)))),
        [("eng2",), ("eng5",), ("eng6",), ("mgr3",), ("mgr4",)]),
    # joins to a single-table subclass: the discriminator in the ON clause
    "single_join_entity": (
        lambda m, s: _names(s.scalars(select(m.Company).join(
            m.Engineer, m.Company.id == m.Engineer.company_id))),
        ["c1", "c3", "c3"]),
    "single_outerjoin": (
        lambda m, s: _rows(s.execute(select(m.Company.name, m.Manager.name).outerjoin(
            m.Manager, m.Company.id == m.Manager.company_id))),
        [("c1", "mgr3"), ("c2", "mgr4"), ("c3", None)]),
    "single_outerjoin_is_null": (
        lambda m, s: _rows(s.execute(select(m.Company.name).outerjoin(
            m.Engineer, m.Company.id == m.Engineer.company_id).where(
            m.Engineer.id.is_(None)))),
        [("c2",)]),
    "single_aliased_outerjoin": (
        lambda m, s: (lambda a: _rows(s.execute(select(m.Company.name, a.name).outerjoin(
            a, m.Company.id == a.company_id))))(m.aliased(m.Manager)),
        [("c1", "mgr3"), ("c2", "mgr4"), ("c3", None)]),
    "single_where_only": (
        lambda m, s: _rows(s.execute(select(m.Company.name).where(
            m.Company.id == m.Manager.company_id))),
        [("c1",), ("c2",)]),
    "single_select_from": (
        lambda m, s: _rows(s.execute(select(m.Employee.name).select_from(m.Manager))),
        [("mgr3",), ("mgr4",)]),
    "single_count_select_from": (
        lambda m, s: s.scalar(select(func.count()).select_from(m.Engineer)), 3),
    "query_single_join_count": (
        lambda m, s: s.query(m.Company).join(
            m.Engineer, m.Company.id == m.Engineer.company_id).count(), 3),
    "query_single_join_columns": (
        lambda m, s: _rows(s.query(m.Company.name, m.Engineer.name).join(
            m.Engineer, m.Company.id == m.Engineer.company_id)),
        [("c1", "eng2"), ("c3", "eng5"), ("c3", "eng6")]),
    "query_single_outerjoin": (
        lambda m, s: _rows(s.query(m.Company.name).outerjoin(
            m.Manager, m.Company.id == m.Manager.company_id).filter(
            m.Manager.id.is_(None))),
        [("c3",)]),
    # a subclass's column selected and the subclass outer joined along a relationship:
    # its criterion in the ON clause only (the companies without one stay)
    "query_outerjoin_relationship_column": (
        lambda m, s: _rows(s.query(m.Company.name, m.Manager.name).outerjoin(
            m.Company.managers)),
        [("c1", "mgr3"), ("c2", "mgr4"), ("c3", None)]),
    "query_outerjoin_relationship_entity": (
        lambda m, s: sorted((c.name, e.name if e is not None else None) for c, e in s.query(
            m.Company, m.Engineer).outerjoin(m.Company.engineers)),
        [("c1", "eng2"), ("c2", None), ("c3", "eng5"), ("c3", "eng6")]),
    "query_outerjoin_aliased_relationship_column": (
        lambda m, s: (lambda a: _rows(s.query(m.Company.name, a.name).outerjoin(
            a, m.Company.managers)))(m.aliased(m.Manager)),
        [("c1", "mgr3"), ("c2", "mgr4"), ("c3", None)]),
    "select_outerjoin_relationship_column": (
        lambda m, s: _rows(s.execute(select(m.Company.name, m.Engineer.name).outerjoin(
            m.Company.engineers))),
        [("c1", "eng2"), ("c2", None), ("c3", "eng5"), ("c3", "eng6")]),
    # ... and outer joined with the ON clause left to the foreign key
    "query_outerjoin_no_onclause_entity": (
        lambda m, s: sorted((c.name, e.name if e is not None else None) for c, e in s.query(
            m.Company, m.Engineer).outerjoin(m.Engineer)),
        [("c1", "eng2"), ("c2", None), ("c3", "eng5"), ("c3", "eng6")]),
    "query_outerjoin_no_onclause_aliased_column": (
        lambda m, s: (lambda a: _rows(s.query(m.Company.name, a.name).outerjoin(a)))(
            m.aliased(m.Manager)),
        [("c1", "mgr3"), ("c2", "mgr4"), ("c3", None)]),
    "select_outerjoin_no_onclause_column": (
        lambda m, s: _rows(s.execute(select(m.Company.name, m.Manager.name).outerjoin(
            m.Manager))),
        [("c1", "mgr3"), ("c2", "mgr4"), ("c3", None)]),
    # the left side of join_from() a single-table subclass
    "single_join_from_left": (
        lambda m, s: _rows(s.execute(select(m.Company.name).join_from(
            m.Manager, m.Company, m.Manager.company_id == m.Company.id))),
        [("c1",), ("c2",)]),
    # the same column read through the base and through a subclass, in one engine
    # (Core's compiled-statement cache must tell the two statements apart)
    "cache_base_and_subclass_columns": (
        lambda m, s: [_rows(s.execute(select(col))) for col in (
            m.Person.name, m.Pilot.name, m.Person.name, m.Employee.name, m.Engineer.name,
            m.Employee.name, m.Person.id, m.Pilot.id)],
        [[("per1",), ("per3",), ("pil2",), ("pil4",)], [("pil2",), ("pil4",)],
         [("per1",), ("per3",), ("pil2",), ("pil4",)],
         [("emp1",), ("eng2",), ("eng5",), ("eng6",), ("mgr3",), ("mgr4",)],
         [("eng2",), ("eng5",), ("eng6",)],
         [("emp1",), ("eng2",), ("eng5",), ("eng6",), ("mgr3",), ("mgr4",)],
         [(1,), (2,), (3,), (4,)], [(2,), (4,)]]),
    "cache_aliased_base_and_subclass": (
        lambda m, s: [_rows(s.execute(select(m.aliased(cls).name))) for cls in (
            m.Engineer, m.Employee, m.Engineer)],
        [[("eng2",), ("eng5",), ("eng6",)],
         [("emp1",), ("eng2",), ("eng5",), ("eng6",), ("mgr3",), ("mgr4",)],
         [("eng2",), ("eng5",), ("eng6",)]]),
    "query_joined_column_join": (
        lambda m, s: [_rows(s.query(cls.name).join(
            m.Company, m.Company.id == cls.id)) for cls in (m.Person, m.Pilot)],
        [[("per1",), ("per3",), ("pil2",)], [("pil2",)]]),
    "query_single_select_from": (
        lambda m, s: _rows(s.query(m.Employee.name).select_from(m.Manager)),
        [("mgr3",), ("mgr4",)]),
    "query_single_count_select_from": (
        lambda m, s: s.query(func.count()).select_from(m.Engineer).scalar(), 3),
}


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_program_matches_sqlalchemy(program, engine):
    run, expected = PROGRAMS[program]
    models = {name: _build(orm, f"srm_{name}_") for name, orm in (("sa", sa_orm),
                                                                  ("dm", datamapper))}
    # both sides' tables in one create_all: the servers keep them, emptied, for the
    # next program (tests/_support.py TableReuse; two create_all calls are not tracked)
    both = MetaData()
    for m in models.values():
        for table in m.Base.metadata.sorted_tables:
            table.to_metadata(both)
    both.create_all(engine)
    results = {}
    for name, m in models.items():
        with m.Session(engine) as s:
            _fill(m, s)
        with m.Session(engine) as s:
            results[name] = run(m, s)
    assert results["sa"] == expected  # what SQLAlchemy's ORM returns
    assert results["dm"] == expected
