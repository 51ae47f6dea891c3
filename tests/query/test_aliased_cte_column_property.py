"""aliased(User, cte) where the CTE reads users JOIN addresses: a column_property()
counting the user's addresses (a correlated subquery FROM addresses) reads addresses,
not the CTE.  The alias replaced every table its selectable reads by the selectable,
so the subquery's FROM addresses and correlate_except(Address) named the CTE: FROM
paginated_users, addresses, the count of all addresses for every user.  SQLAlchemy's
aliased() replaces only the class's own tables."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, func, select

from datamapper import aliased, column_property, relationship
from datamapper import select as dm_select


@pytest.fixture
def M(Base, engine, make_session):
    class Address(Base):
        __tablename__ = "acp_addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("acp_users.id"), nullable=False)
        city = Column(String(20))

    class User(Base):
        __tablename__ = "acp_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        addresses = relationship(Address)

    User.total_addresses = column_property(
        select(func.count(Address.id)).where(Address.user_id == User.id)
        .select_from(Address).correlate_except(Address).scalar_subquery())
    User.plain_total = column_property(
        select(func.count(Address.id)).where(Address.user_id == User.id).scalar_subquery())
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="a"), User(id=2, name="b"), User(id=3, name="c"),
               Address(id=1, user_id=1, city="x"), Address(id=2, user_id=1, city="x"),
               Address(id=3, user_id=2, city="x"), Address(id=4, user_id=3, city="y")])
    s.commit()
    s.close()
    return User, Address


@pytest.mark.parametrize("kind", ["cte", "subquery"])
def test_column_property_of_an_alias_over_a_join_reads_its_own_tables(M, session, kind,
                                                                      sql_log):
    User, Address = M
    inner = session.query(User.id, User.name).join(Address).filter(Address.city == "x") \
        .distinct()
    sel = inner.cte("filtered") if kind == "cte" else inner.subquery("filtered")
    ua = aliased(User, sel)
    got = sorted((u.id, u.total_addresses, u.plain_total)
                 for u in session.scalars(dm_select(ua)))
    assert got == [(1, 2, 2), (2, 1, 1)]
    assert "FROM acp_addresses WHERE" in " ".join(sql_log.statements[-1].split())
    assert sorted((u.id, u.total_addresses) for u in session.query(ua)) == [(1, 2), (2, 1)]


def test_adapt_on_names_leaves_another_class_s_columns_alone(M, session):
    """aliased(Address, aggregate subquery, adapt_on_names=True) joined along
    User.addresses: the subquery's "id" (an address id) stands for Address.id only;
    users.id in the ON clause of the relationship join was matched by name to the
    subquery's "id" (ON anon.id = ...: address ids compared with user ids)."""
    User, Address = M
    agg = select(Address.user_id, func.count(Address.id).label("city")) \
        .group_by(Address.user_id).subquery()
    per_user = aliased(Address, agg, adapt_on_names=True)
    stmt = dm_select(User.id, per_user.city).join(per_user, User.id == per_user.user_id) \
        .order_by(User.id)
    assert session.execute(stmt).all() == [(1, 2), (2, 1), (3, 1)]
    agg2 = select(Address.id, func.count(Address.id).label("city")) \
        .group_by(Address.user_id).subquery()
    ag2 = aliased(Address, agg2, adapt_on_names=True)
    sql = str(dm_select(User, ag2.city).join(ag2, User.addresses))
    assert "acp_users.id = " in sql and ".id = acp_users" not in sql
