"""Columns of a ``with_polymorphic()`` entity selected one by one
(``select(wp.name, wp.Engineer.engineer_info)``): the SELECT reads the entity's join
of the subclass tables, and each entity's own join (outer, inner) is what runs even
when an equal-looking statement of another entity ran before it (Core's compiled
statement cache keys the statement)."""

import sqlalchemy as sa

from datamapper import with_polymorphic

from .test_polymorphic_loading import joined  # noqa: F401  (fixture)


def test_inner_and_outer_with_polymorphic_columns_each_read_their_own_join(
        joined, make_session, sql_log):  # noqa: F811
    _c, Employee, _m, Engineer, _p = joined
    s = make_session()
    outer = with_polymorphic(Employee, [Engineer])
    inner = with_polymorphic(Employee, [Engineer], innerjoin=True)

    def rows(wp):
        stmt = sa.select(wp.name, wp.Engineer.engineer_info).order_by(wp.id)
        return s.execute(stmt).all()

    assert rows(outer) == [("Mr. Krabs", None), ("SpongeBob", "Krabby Patty Master"),
                           ("Squidward", "Senior Engineer")]
    assert rows(inner) == [("SpongeBob", "Krabby Patty Master"),
                           ("Squidward", "Senior Engineer")]
    assert rows(outer) == [("Mr. Krabs", None), ("SpongeBob", "Krabby Patty Master"),
                           ("Squidward", "Senior Engineer")]
    sent = sql_log.matching("SELECT")
    assert "LEFT OUTER JOIN" in sent[0] and "LEFT OUTER JOIN" in sent[2]
    assert "LEFT OUTER JOIN" not in sent[1] and " JOIN " in sent[1]


def test_base_column_of_with_polymorphic_reads_the_join_after_the_plain_class(
        joined, make_session):  # noqa: F811
    _c, Employee, _m, Engineer, _p = joined
    s = make_session()
    inner = with_polymorphic(Employee, [Engineer], innerjoin=True)
    assert len(s.scalars(sa.select(Employee.name)).all()) == 3
    assert sorted(s.scalars(sa.select(inner.name)).all()) == ["SpongeBob", "Squidward"]
    assert len(s.scalars(sa.select(Employee.name)).all()) == 3


def test_innerjoin_is_ignored_when_the_mapping_names_its_polymorphic_selectable(
        engine, make_session):
    from datamapper import registry

    reg = registry()
    md = reg.metadata
    employee = sa.Table("employee", md, sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("name", sa.String(30)), sa.Column("type", sa.String(20)))
    engineer = sa.Table("engineer", md,
                        sa.Column("id", sa.ForeignKey("employee.id"), primary_key=True),
                        sa.Column("info", sa.String(30)))

    class Employee:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    class Engineer(Employee):
        pass

    reg.map_imperatively(Employee, employee, polymorphic_on=employee.c.type,
                         polymorphic_identity="employee",
                         with_polymorphic=("*", employee.outerjoin(engineer)))
    reg.map_imperatively(Engineer, engineer, inherits=Employee,
                         polymorphic_identity="engineer")
    md.create_all(engine)
    s = make_session()
    s.add_all([Employee(name="boss"), Engineer(name="eng", info="java")])
    s.commit()
    wp = with_polymorphic(Employee, [Engineer], innerjoin=True)
    rows = s.execute(sa.select(wp.name, wp.Engineer.info).order_by(wp.id)).all()
    assert rows == [("boss", None), ("eng", "java")]  # SQLAlchemy reads the mapping's
