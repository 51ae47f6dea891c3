"""A column of a base class whose mapping names ``with_polymorphic`` subclasses
(``Person.name``, ``func.count(Person.id)``) reads from the same outer join of the
subclass tables that the class's entity reads, as in SQLAlchemy: a WHERE naming a
subclass's column (``Engineer.lang == ...``) then limits those rows, instead of
making a cartesian product of ``people`` and ``engineers``."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, func

from datamapper import declarative_base, select


@pytest.fixture
def people(engine, make_session):
    Base = declarative_base()

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person",
                           "with_polymorphic": "*"}

    class Engineer(Person):
        __tablename__ = "engineers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        lang = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "managers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        status = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Person(id=1, name="p"), Engineer(id=2, name="e1", lang="java"),
               Engineer(id=3, name="e2", lang="c"), Manager(id=4, name="m", status="x")])
    s.commit()
    s.close()
    return Person, Engineer, Manager


def test_count_of_base_column_filtered_by_subclass_column(people, make_session, sql_log):
    Person, Engineer, _m = people
    s = make_session()
    assert s.query(func.count(Person.id)).filter(Engineer.lang == "java").all() == [(1,)]
    sql = sql_log.statements[-1]
    assert "LEFT OUTER JOIN engineers" in sql
    assert "FROM people, engineers" not in sql


def test_base_columns_filtered_by_subclass_columns(people, make_session):
    Person, Engineer, Manager = people
    s = make_session()
    assert s.query(Person.name).filter(Engineer.lang != "java").all() == [("e2",)]
    assert s.execute(select(Person.name, Person.id).where(Manager.status == "x")).all() \
        == [("m", 4)]
    # without a subclass column: every row, once
    assert sorted(s.scalars(select(Person.name)).all()) == ["e1", "e2", "m", "p"]
    assert s.scalar(select(func.count(Person.id))) == 4


@pytest.mark.parametrize("kind", ["subquery", "cte"])
def test_core_select_of_base_nested_reads_the_subclass_tables(people, make_session, kind):
    # sqlalchemy.select(Person) used as a subquery or CTE selects the with_polymorphic
    # subclasses' columns: it reads their tables too (it named managers.status without
    # the managers table: "no such column")
    import sqlalchemy as sa

    from datamapper import aliased

    Person, Engineer, Manager = people
    stmt = sa.select(Person).where(Person.name.in_(["e1", "m"]))
    sel = stmt.subquery() if kind == "subquery" else stmt.cte()
    p1 = aliased(Person, sel)
    s = make_session()
    assert s.scalars(sa.select(p1.name).order_by(p1.id)).all() == ["e1", "m"]
    got = s.scalars(sa.select(p1).order_by(p1.id)).all()
    assert [(type(o), o.name) for o in got] == [(Engineer, "e1"), (Manager, "m")]
    assert got[1].status == "x"
