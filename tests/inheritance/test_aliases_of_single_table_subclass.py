"""An aliased() or with_polymorphic() entity of a single-table subclass reads only that
subclass's rows, in a Query as in select(): plain, flat (below a joined-table class),
and over a given selectable."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import aliased, with_polymorphic


@pytest.fixture
def staff(Base, engine, make_session):
    class Employee(Base):
        __tablename__ = "employee"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        type = Column(String(50))
        __mapper_args__ = {"polymorphic_identity": "employee", "polymorphic_on": type}

    class Manager(Employee):
        __tablename__ = "manager"
        id = Column(Integer, ForeignKey("employee.id"), primary_key=True)
        manager_data = Column(String(50))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Boss(Manager):
        __mapper_args__ = {"polymorphic_identity": "boss"}

    class Engineer(Employee):
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Employee(id=1, name="e"), Manager(id=2, name="m", manager_data="md"),
               Boss(id=3, name="b", manager_data="bd"), Engineer(id=4, name="g")])
    s.commit()
    s.close()
    return Employee, Manager, Boss, Engineer


def _entities(Employee, Manager, Boss, Engineer):
    sub = sa.select(Employee.__table__).subquery()
    return {
        "aliased": lambda: aliased(Engineer),
        "aliased_over_selectable": lambda: aliased(Engineer, sub),
        "with_polymorphic_over_selectable": lambda: with_polymorphic(Engineer, [], sub),
        "flat_alias_below_joined": lambda: aliased(Boss, flat=True),
        "with_polymorphic_below_joined": lambda: with_polymorphic(Boss, []),
    }


@pytest.mark.parametrize("kind", ["aliased", "aliased_over_selectable",
                                  "with_polymorphic_over_selectable",
                                  "flat_alias_below_joined",
                                  "with_polymorphic_below_joined"])
@pytest.mark.parametrize("style", ["query", "select"])
def test_entity_of_single_table_subclass_reads_only_its_rows(staff, make_session, kind,
                                                             style):
    s = make_session()
    ent = _entities(*staff)[kind]()
    objs = s.query(ent).all() if style == "query" else s.scalars(sa.select(ent)).all()
    expected = "Boss" if "below_joined" in kind else "Engineer"
    assert [type(o).__name__ for o in objs] == [expected]


def test_with_polymorphic_of_joined_class_and_single_subclass_reads_both(staff,
                                                                          make_session):
    _e, Manager, Boss, _g = staff
    s = make_session()
    wp = with_polymorphic(Manager, [Boss])
    assert [type(o).__name__ for o in s.query(wp).order_by(wp.id)] == ["Manager", "Boss"]
