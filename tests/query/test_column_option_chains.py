"""Column loader options that chain and group: undefer_group(), Load(entity), the '*'
wildcard of defer()/undefer(), several column options on one path, and load_only()
of several columns; each checked by the columns the SELECT reads."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import (
    Load,
    defaultload,
    defer,
    deferred,
    joinedload,
    load_only,
    relationship,
    undefer,
    undefer_group,
)


@pytest.fixture
def M(Base, engine, make_session):
    class Customer(Base):
        __tablename__ = "c_customers"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        orders = relationship("Purchase", order_by="Purchase.id")

    class Purchase(Base):
        __tablename__ = "c_purchases"
        id = Column(Integer, primary_key=True)
        customer_id = Column(Integer, ForeignKey("c_customers.id"))
        code = Column(String(30))
        note = deferred(Column(String(30)), group="detail")
        memo = deferred(Column(String(30)), group="detail")
        extra = deferred(Column(String(30)))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Customer(id=1, name="c1", orders=[
        Purchase(id=1, code="a", note="n1", memo="m1", extra="x1"),
        Purchase(id=2, code="b", note="n2", memo="m2", extra="x2")]))
    s.commit()
    s.close()
    return Customer, Purchase


def _selected(sql_log):
    return [s for s in sql_log.statements if s.lstrip().upper().startswith("SELECT")]


def test_undefer_group_loads_the_group_with_the_row(M, session, sql_log):
    Customer, Purchase = M
    p = session.query(Purchase).options(undefer_group("detail")).filter_by(id=1).one()
    assert {"note", "memo"} <= set(p.__dict__)
    assert "extra" not in p.__dict__
    sql_log.clear()
    assert (p.note, p.memo) == ("n1", "m1")
    assert sql_log.count == 0


def test_undefer_group_below_a_lazy_relationship(M, session, sql_log):
    Customer, Purchase = M
    c = session.query(Customer).options(
        defaultload(Customer.orders).undefer_group("detail")).one()
    sql_log.clear()
    orders = c.orders
    assert len(_selected(sql_log)) == 1
    assert [(o.note, o.memo) for o in orders] == [("n1", "m1"), ("n2", "m2")]
    assert len(_selected(sql_log)) == 1


def test_load_rooted_at_an_entity_applies_to_that_entity(M, session, sql_log):
    Customer, Purchase = M
    rows = session.query(Customer, Purchase).join(Customer.orders).options(
        Load(Purchase).undefer("*"), Load(Customer).load_only(Customer.name)).all()
    c, p = rows[0]
    assert {"note", "memo", "extra", "code"} <= set(p.__dict__)
    assert "name" in c.__dict__


def test_defer_wildcard_keeps_only_the_key(M, session):
    Customer, Purchase = M
    p = session.query(Purchase).options(defer("*")).filter_by(id=2).one()
    assert set(k for k in p.__dict__ if not k.startswith("_")) == {"id"}
    assert p.code == "b"


def test_chained_column_options_all_apply(M, session):
    Customer, Purchase = M
    p = session.query(Purchase).options(
        defer(Purchase.code).undefer(Purchase.extra).undefer(Purchase.note)).filter_by(
        id=1).one()
    assert "code" not in p.__dict__
    assert {"extra", "note"} <= set(p.__dict__)
    assert "memo" not in p.__dict__


def test_load_only_of_several_columns_reads_exactly_those(M, session, sql_log):
    Customer, Purchase = M
    sql_log.clear()
    p = session.query(Purchase).options(load_only(Purchase.code, Purchase.note)).filter_by(
        id=1).one()
    assert {k for k in p.__dict__ if not k.startswith("_")} == {"id", "code", "note"}


def test_options_continue_after_a_column_option(M, session, sql_log):
    Customer, Purchase = M
    c = session.query(Customer).options(
        load_only(Customer.name).defaultload(Customer.orders).undefer(Purchase.extra)).one()
    sql_log.clear()
    assert [o.extra for o in c.orders] == ["x1", "x2"]
    assert len(_selected(sql_log)) == 1


def test_undefer_group_needs_a_name(M):
    with pytest.raises(Exception, match="undefer_group"):
        undefer_group(5)


def test_undefer_of_a_mapped_name_still_works(M, session):
    Customer, Purchase = M
    p = session.query(Purchase).options(undefer("extra")).filter_by(id=1).one()
    assert "extra" in p.__dict__


def test_str_of_a_query_shows_the_columns_and_joins_its_options_give(M, session, sql_log):
    Customer, Purchase = M
    q = session.query(Customer).options(
        joinedload(Customer.orders).load_only(Purchase.code))
    shown = str(q)
    assert "LEFT OUTER JOIN c_purchases AS c_purchases_1" in shown
    assert "c_purchases_1.code AS c_purchases_1_code" in shown
    assert "c_purchases_1.note" not in shown
    sql_log.clear()
    q.all()
    assert " ".join(sql_log.statements[0].split()) == " ".join(shown.split())
    assert q.count() == 1  # counting ignores the eager join


def test_str_of_a_query_with_undefer_group_lists_the_group_in_column_order(M, session):
    Customer, Purchase = M
    shown = str(session.query(Purchase).options(undefer_group("detail")))
    cols = shown.split("FROM")[0]
    assert cols.index("c_purchases_note") < cols.index("c_purchases_memo")
    assert "c_purchases_extra" not in cols


def test_query_options_given_as_a_list_all_apply(M, session, sql_log):
    """Query.options([opt1, opt2]) (1.x code passes a list) applies each option."""
    Customer, Purchase = M
    c = session.query(Customer).options([joinedload(Customer.orders),
                                         undefer_group("detail")]).first()
    n = len(sql_log.statements)
    assert [o.id for o in c.orders]
    assert len(sql_log.statements) == n  # joined in the first SELECT
    with pytest.raises(Exception, match="not a loader option"):
        session.query(Customer).options([joinedload(Customer.orders), 5])
