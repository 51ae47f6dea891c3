"""``joinedload()`` of a relationship of a joined-table subclass (Manager.paperwork)
from rows of the base class: joined in the same SELECT wherever those rows read the
subclass's table (a with_polymorphic() entity, plain, aliased or flat; a mapping's
with_polymorphic; of_type(Sub) on the way), each object of the subclass getting its
own rows and the other classes' rows kept; loaded lazily, as SQLAlchemy does, where
the query does not read that table."""

import pytest
import sqlalchemy as sa

from datamapper import joinedload, with_polymorphic

from .test_polymorphic_loading import joined  # noqa: F401  (fixture)

EXPECTED = [("Mr. Krabs", ["Secret Recipes", "Orders"]), ("SpongeBob", None),
            ("Squidward", None)]


def _shown(employees, Manager):
    return [(e.name, [p.document_name for p in e.paperwork]
             if isinstance(e, Manager) else None) for e in employees]


@pytest.mark.parametrize("kind", ["plain", "aliased", "flat"])
def test_joinedload_of_a_with_polymorphic_subclass_relationship_is_one_select(
        joined, make_session, sql_log, kind):  # noqa: F811
    _c, Employee, Manager, _e, _p = joined
    s = make_session()
    wp = with_polymorphic(Employee, "*", aliased=kind == "aliased", flat=kind == "flat")
    stmt = sa.select(wp).options(joinedload(wp.Manager.paperwork)).order_by(wp.id)
    employees = s.scalars(stmt).unique().all()
    assert _shown(employees, Manager) == EXPECTED
    (sent,) = sql_log.matching("SELECT")
    assert "paperwork" in sent


def test_innerjoin_of_a_subclass_relationship_keeps_the_other_classes_rows(
        joined, make_session, sql_log):  # noqa: F811
    _c, Employee, Manager, _e, _p = joined
    s = make_session()
    wp = with_polymorphic(Employee, [Manager])
    stmt = sa.select(wp).options(joinedload(wp.Manager.paperwork, innerjoin=True)) \
        .order_by(wp.id)
    assert _shown(s.scalars(stmt).unique().all(), Manager) == EXPECTED
    assert sql_log.count == 1


def test_joinedload_of_a_subclass_relationship_with_limit(joined, make_session):  # noqa: F811
    _c, Employee, Manager, _e, _p = joined
    s = make_session()
    wp = with_polymorphic(Employee, "*")
    stmt = sa.select(wp).options(joinedload(wp.Manager.paperwork)).order_by(wp.id) \
        .limit(2)
    assert _shown(s.scalars(stmt).unique().all(), Manager) == EXPECTED[:2]


def test_joinedload_after_of_type_of_the_subclass(joined, make_session, sql_log):  # noqa: F811
    Company, _emp, Manager, _e, _p = joined
    s = make_session()
    stmt = sa.select(Company).options(
        joinedload(Company.employees.of_type(Manager)).joinedload(Manager.paperwork))
    (company,) = s.scalars(stmt).unique().all()
    assert sql_log.count == 1
    assert _shown(company.employees, Manager) == EXPECTED


def test_joinedload_of_a_subclass_relationship_loads_lazily_without_its_table(
        joined, make_session, sql_log):  # noqa: F811
    _c, Employee, Manager, _e, _p = joined
    s = make_session()
    employees = s.scalars(sa.select(Employee).options(joinedload(Manager.paperwork))
                          .order_by(Employee.id)).all()
    (sent,) = sql_log.matching("SELECT")
    assert "paperwork" not in sent
    assert _shown(employees, Manager) == EXPECTED


@pytest.mark.parametrize("how", ["core", "orm", "query"])
def test_join_along_a_subclass_relationship_joins_the_subclass_table_first(
        joined, make_session, sql_log, how):  # noqa: F811
    from datamapper import select as orm_select

    Company, Employee, Manager, _e, Paperwork = joined
    s = make_session()
    if how == "query":
        q = s.query(Paperwork.document_name).select_from(Company) \
            .join(Company.employees).join(Manager.paperwork).order_by(Paperwork.id)
        names = [r[0] for r in q.all()]
    else:
        sel = sa.select if how == "core" else orm_select
        stmt = sel(Paperwork.document_name).select_from(Company) \
            .join(Company.employees).join(Manager.paperwork).order_by(Paperwork.id)
        names = s.scalars(stmt).all()
    assert names == ["Secret Recipes", "Orders"]
    sent = sql_log.matching("SELECT")[-1]
    assert "JOIN manager ON" in sent
