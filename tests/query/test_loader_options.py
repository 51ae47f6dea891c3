"""Loader options: joinedload, selectinload, subqueryload, contains_eager, lazyload,
noload, raiseload, defer, undefer, load_only; counted in statements the database sees."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, text
from sqlalchemy.exc import ArgumentError, InvalidRequestError

import datamapper
from datamapper import (
    contains_eager,
    defer,
    deferred,
    inspect,
    joinedload,
    lazyload,
    load_only,
    noload,
    raiseload,
    relationship,
    select,
    selectinload,
    subqueryload,
    undefer,
)
from datamapper.loading import strategies


@pytest.fixture
def M(Base, engine, make_session):
    """User 1-* Address 1-* Dingaling, Address *-* Keyword; three users, data committed."""
    address_keywords = Table(
        "address_keywords", Base.metadata,
        Column("address_id", ForeignKey("addresses.id"), primary_key=True),
        Column("keyword_id", ForeignKey("keywords.id"), primary_key=True),
    )

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        bio = deferred(Column(String(200)))
        addresses = relationship("Address", backref="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))
        dingalings = relationship("Dingaling", order_by="Dingaling.id")
        keywords = relationship("Keyword", secondary=address_keywords, order_by="Keyword.id")

    class Dingaling(Base):
        __tablename__ = "dingalings"
        id = Column(Integer, primary_key=True)
        data = Column(String(50))
        address_id = Column(Integer, ForeignKey("addresses.id"))

    class Keyword(Base):
        __tablename__ = "keywords"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    Base.metadata.create_all(engine)
    s = make_session()
    k1, k2 = Keyword(id=1, name="k1"), Keyword(id=2, name="k2")
    s.add_all([
        User(id=1, name="jack", bio="jack's bio", addresses=[
            Address(id=1, email="jack1@x", keywords=[k1, k2],
                    dingalings=[Dingaling(id=1, data="d1"), Dingaling(id=2, data="d2")]),
            Address(id=2, email="jack2@x", keywords=[k2]),
        ]),
        User(id=2, name="ed", bio="ed's bio", addresses=[Address(id=3, email="ed@x")]),
        User(id=3, name="fred", bio="fred's bio"),
    ])
    s.commit()
    s.close()

    class Models:
        pass

    m = Models()
    m.User, m.Address, m.Dingaling, m.Keyword = User, Address, Dingaling, Keyword
    return m


def _emails(users):
    return {u.name: [a.email for a in u.addresses] for u in users}


EXPECTED = {"jack": ["jack1@x", "jack2@x"], "ed": ["ed@x"], "fred": []}


# -- joinedload -----------------------------------------------------------------------------
def test_joinedload_loads_collections_in_one_left_outer_join(M, session, sql_log):
    User = M.User
    users = session.query(User).options(joinedload(User.addresses)).order_by(User.id).all()
    assert sql_log.count == 1
    assert "LEFT OUTER JOIN addresses AS" in sql_log.statements[0]
    assert [u.name for u in users] == ["jack", "ed", "fred"]  # one result per parent
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 0


def test_joinedload_by_string_name(M, session, sql_log):
    users = session.query(M.User).options(joinedload("addresses")).all()
    assert sql_log.count == 1
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 0


def test_eagerload_is_the_04_name_of_joinedload(M, session, sql_log):
    users = session.query(M.User).options(datamapper.eagerload("addresses")).all()
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 0


def test_joinedload_chain_loads_nested_levels_in_one_statement(M, session, sql_log):
    User, Address = M.User, M.Address
    users = (session.query(User)
             .options(joinedload(User.addresses).joinedload(Address.dingalings),
                      joinedload(User.addresses).joinedload(Address.keywords))
             .order_by(User.id).all())
    assert sql_log.count == 1
    sql_log.clear()
    jack = users[0]
    assert [d.data for d in jack.addresses[0].dingalings] == ["d1", "d2"]
    assert [k.name for k in jack.addresses[0].keywords] == ["k1", "k2"]
    assert [k.name for k in jack.addresses[1].keywords] == ["k2"]
    assert jack.addresses[1].dingalings == []
    assert sql_log.count == 0


def test_joinedload_with_limit_counts_parents(M, session, sql_log):
    User = M.User
    users = (session.query(User).options(joinedload(User.addresses))
             .order_by(User.id).limit(2).all())
    assert sql_log.count == 1
    sql = sql_log.statements[0]
    assert "LIMIT" in sql.upper() or "FETCH" in sql.upper()
    assert sql.upper().count("SELECT") == 2  # the limited parents are a subquery
    assert [u.name for u in users] == ["jack", "ed"]
    sql_log.clear()
    assert [a.email for a in users[0].addresses] == ["jack1@x", "jack2@x"]
    assert sql_log.count == 0


def test_joinedload_with_offset_and_first(M, session):
    User = M.User
    q = session.query(User).options(joinedload(User.addresses)).order_by(User.id)
    assert [a.email for a in q.first().addresses] == ["jack1@x", "jack2@x"]
    assert [u.name for u in q.offset(1).all()] == ["ed", "fred"]
    assert [u.name for u in q[1:2]] == ["ed"]


def test_joinedload_alias_does_not_clash_with_user_join_and_filter(M, session):
    User, Address = M.User, M.Address
    users = (session.query(User).join(User.addresses).filter(Address.email == "jack2@x")
             .options(joinedload(User.addresses)).all())
    assert [u.name for u in users] == ["jack"]
    # the collection holds every address, not only the filtered one
    assert [a.email for a in users[0].addresses] == ["jack1@x", "jack2@x"]


def test_joinedload_with_for_update_locks_the_parents(M, session, sql_log, backend_name):
    User = M.User
    jack = (session.query(User).options(joinedload(User.addresses)).filter_by(id=1)
            .with_for_update().one())
    assert [a.email for a in jack.addresses] == ["jack1@x", "jack2@x"]
    if backend_name == "postgresql":
        assert "FOR UPDATE OF users" in sql_log.statements[0]


def test_joinedload_many_to_one(M, session, sql_log):
    Address = M.Address
    addresses = session.query(Address).options(joinedload(Address.user)).order_by(Address.id).all()
    assert sql_log.count == 1
    sql_log.clear()
    assert [a.user.name for a in addresses] == ["jack", "jack", "ed"]
    assert addresses[0].user is addresses[1].user
    assert sql_log.count == 0


def test_joinedload_in_orm_select_and_get(M, session, sql_log):
    User = M.User
    users = session.scalars(select(User).options(joinedload(User.addresses))
                            .order_by(User.id)).all()
    assert sql_log.count == 1
    assert _emails(users) == EXPECTED
    session.close()
    sql_log.clear()
    jack = session.get(User, 1, options=[joinedload(User.addresses)])
    assert sql_log.count == 1
    assert [a.email for a in jack.addresses] == ["jack1@x", "jack2@x"]
    assert sql_log.count == 1


def test_orm_select_with_limit_and_joinedload(M, session):
    User = M.User
    users = session.scalars(select(User).options(joinedload(User.addresses))
                            .order_by(User.id.desc()).limit(2)).all()
    assert [u.name for u in users] == ["fred", "ed"]
    assert [a.email for a in users[1].addresses] == ["ed@x"]


# -- selectinload / subqueryload --------------------------------------------------------------
def test_selectinload_is_one_more_statement(M, session, sql_log):
    User = M.User
    users = session.query(User).options(selectinload(User.addresses)).all()
    assert sql_log.count == 2
    assert " IN " in sql_log.statements[1].upper()
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 0


def test_selectinload_chain_one_statement_per_level(M, session, sql_log):
    User, Address = M.User, M.Address
    users = session.scalars(
        select(User).options(selectinload(User.addresses).selectinload(Address.dingalings))
        .order_by(User.id)).all()
    assert sql_log.count == 3
    sql_log.clear()
    assert [d.data for d in users[0].addresses[0].dingalings] == ["d1", "d2"]
    assert users[1].addresses[0].dingalings == []
    assert sql_log.count == 0


def test_selectinload_many_to_many_through_secondary(M, session, sql_log):
    Address = M.Address
    addresses = (session.query(Address).options(selectinload(Address.keywords))
                 .order_by(Address.id).all())
    assert sql_log.count == 2
    assert "address_keywords" in sql_log.statements[1]
    sql_log.clear()
    assert [[k.name for k in a.keywords] for a in addresses] == [["k1", "k2"], ["k2"], []]
    assert addresses[0].keywords[1] is addresses[1].keywords[0]
    assert sql_log.count == 0


def test_selectinload_batches_the_in_list(M, session, sql_log, monkeypatch):
    monkeypatch.setattr(strategies, "IN_BATCH", 2)
    User = M.User
    users = session.query(User).options(selectinload(User.addresses)).order_by(User.id).all()
    assert sql_log.count == 3  # 3 parents, 2 per IN statement
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 0


def test_selectinload_many_to_one_uses_identity_map(M, session, sql_log):
    User, Address = M.User, M.Address
    users = session.query(User).all()  # kept referenced: the identity map is weak
    sql_log.clear()
    addresses = session.query(Address).options(selectinload(Address.user)).all()
    assert sql_log.count == 1  # every user is already in the session
    assert {a.user.name for a in addresses} == {"jack", "ed"}
    assert {a.user for a in addresses} <= set(users)
    assert sql_log.count == 1


def test_selectinload_many_to_one_loads_missing_targets(M, session, sql_log):
    Address = M.Address
    addresses = session.query(Address).options(selectinload(Address.user)).all()
    assert sql_log.count == 2
    sql_log.clear()
    assert sorted(a.user.name for a in addresses) == ["ed", "jack", "jack"]
    assert sql_log.count == 0


def test_subqueryload_one_statement_per_level(M, session, sql_log):
    User, Address = M.User, M.Address
    users = (session.query(User)
             .options(subqueryload(User.addresses).subqueryload(Address.keywords)).all())
    assert sql_log.count == 3
    sql_log.clear()
    assert _emails(users) == EXPECTED
    jack = next(u for u in users if u.name == "jack")
    assert [k.name for k in jack.addresses[0].keywords] == ["k1", "k2"]
    assert sql_log.count == 0


def test_selectinload_then_joinedload(M, session, sql_log):
    User, Address = M.User, M.Address
    users = (session.query(User)
             .options(selectinload(User.addresses).joinedload(Address.dingalings))
             .order_by(User.id).all())
    assert sql_log.count == 2
    sql_log.clear()
    assert [d.data for d in users[0].addresses[0].dingalings] == ["d1", "d2"]
    assert sql_log.count == 0


# -- contains_eager ----------------------------------------------------------------------------
def test_contains_eager_fills_collection_from_the_users_join(M, session, sql_log):
    User, Address = M.User, M.Address
    users = (session.query(User).join(User.addresses).filter(Address.email.like("jack%"))
             .options(contains_eager(User.addresses)).order_by(Address.id).all())
    assert sql_log.count == 1
    assert "AS addresses_1" not in sql_log.statements[0]
    assert [u.name for u in users] == ["jack"]
    sql_log.clear()
    assert [a.email for a in users[0].addresses] == ["jack1@x", "jack2@x"]
    assert sql_log.count == 0


def test_contains_eager_shows_only_the_joined_rows(M, session):
    User, Address = M.User, M.Address
    users = (session.query(User).join(User.addresses).filter(Address.email == "jack2@x")
             .options(contains_eager(User.addresses)).all())
    assert [a.email for a in users[0].addresses] == ["jack2@x"]


def test_contains_eager_many_to_one(M, session, sql_log):
    User, Address = M.User, M.Address
    addresses = (session.query(Address).join(Address.user).filter(User.name == "ed")
                 .options(contains_eager(Address.user)).all())
    sql_log.clear()
    assert [a.user.name for a in addresses] == ["ed"]
    assert sql_log.count == 0


def test_contains_eager_chain_over_two_joins(M, session, sql_log):
    User, Address, Dingaling = M.User, M.Address, M.Dingaling
    users = (session.query(User).join(User.addresses).join(Address.dingalings)
             .options(contains_eager(User.addresses).contains_eager(Address.dingalings))
             .order_by(Dingaling.id).all())
    assert sql_log.count == 1
    sql_log.clear()
    assert [u.name for u in users] == ["jack"]
    assert [a.email for a in users[0].addresses] == ["jack1@x"]
    assert [d.data for d in users[0].addresses[0].dingalings] == ["d1", "d2"]
    assert sql_log.count == 0


def test_joinedload_in_query_of_several_entities(M, session, sql_log):
    User, Address = M.User, M.Address
    rows = (session.query(User, Address).join(User.addresses)
            .options(joinedload(User.addresses)).order_by(Address.id).all())
    assert sql_log.count == 1
    assert [(u.name, a.email) for u, a in rows] == [
        ("jack", "jack1@x"), ("jack", "jack2@x"), ("ed", "ed@x")]
    sql_log.clear()
    assert [a.email for a in rows[0][0].addresses] == ["jack1@x", "jack2@x"]
    assert sql_log.count == 0
    session.close()
    rows = session.execute(select(Address, User).join(User.__table__, Address.user_id == User.id)
                           .options(selectinload(Address.dingalings))
                           .order_by(Address.id)).all()
    assert [len(a.dingalings) for a, _u in rows] == [2, 0, 0]


def test_many_to_one_eager_with_null_foreign_key(M, session, sql_log):
    Address = M.Address
    session.add(Address(id=9, email="orphan@x"))
    session.commit()
    for opt in (joinedload(Address.user), selectinload(Address.user)):
        session.close()
        sql_log.clear()
        orphan = session.query(Address).options(opt).filter_by(id=9).one()
        n = sql_log.count
        assert orphan.user is None
        assert sql_log.count == n


# -- lazyload / noload / raiseload -------------------------------------------------------------
def test_noload_reads_empty_without_sql(M, session, sql_log):
    User = M.User
    jack = session.query(User).options(noload(User.addresses)).filter_by(name="jack").one()
    sql_log.clear()
    assert jack.addresses == []
    assert sql_log.count == 0


def test_raiseload_refuses_lazy_load(M, session):
    User = M.User
    jack = session.query(User).options(raiseload(User.addresses)).filter_by(name="jack").one()
    with pytest.raises(InvalidRequestError, match="addresses.*raiseload"):
        jack.addresses  # noqa: B018


def test_raiseload_sql_only_allows_identity_map_hits(M, session):
    User, Address = M.User, M.Address
    jack = session.get(User, 1)
    addresses = (session.query(Address).options(raiseload(Address.user, sql_only=True))
                 .order_by(Address.id).all())
    assert addresses[0].user is jack  # found in the identity map: no SQL needed
    with pytest.raises(InvalidRequestError, match=r"Address\.user.*sql_only"):
        addresses[2].user  # noqa: B018


def test_lazyload_keeps_default_lazy(M, session, sql_log):
    User = M.User
    users = session.query(User).options(lazyload(User.addresses)).all()
    assert sql_log.count == 1
    sql_log.clear()
    assert _emails(users) == EXPECTED
    assert sql_log.count == 3


def test_options_below_a_lazy_relationship_apply_when_it_loads(M, session, sql_log):
    User, Address = M.User, M.Address
    jack = (session.query(User)
            .options(datamapper.defaultload(User.addresses).joinedload(Address.dingalings))
            .filter_by(id=1).one())
    assert sql_log.count == 1
    sql_log.clear()
    addresses = jack.addresses  # lazy, with the dingalings joined in
    assert sql_log.count == 1
    assert "JOIN dingalings AS" in sql_log.statements[0]
    assert [d.data for d in addresses[0].dingalings] == ["d1", "d2"]
    assert addresses[1].dingalings == []
    assert sql_log.count == 1


def test_column_option_below_lazy_many_to_one(M, session, sql_log):
    User, Address = M.User, M.Address
    a = (session.query(Address).options(lazyload(Address.user).load_only(User.name))
         .filter_by(id=3).one())
    sql_log.clear()
    assert a.user.name == "ed"
    assert sql_log.count == 1
    assert "users.bio" not in sql_log.statements[0]


# -- defer / undefer / load_only ---------------------------------------------------------------
def test_defer_leaves_column_out_and_loads_on_access(M, session, sql_log):
    User = M.User
    jack = session.query(User).options(defer(User.name)).filter(User.id == 1).one()
    assert "users.name" not in sql_log.statements[0]
    sql_log.clear()
    assert jack.name == "jack"
    assert sql_log.count == 1


def test_undefer_loads_deferred_column_with_the_row(M, session, sql_log):
    User = M.User
    plain = session.query(User).filter(User.id == 2).one()
    assert "users.bio" not in sql_log.statements[0]
    session.close()
    sql_log.clear()
    jack = session.query(User).options(undefer(User.bio)).filter(User.id == 1).one()
    assert "users.bio" in sql_log.statements[0]
    assert jack.bio == "jack's bio"
    assert sql_log.count == 1
    assert plain is not None


def test_load_only_selects_those_columns_and_the_primary_key(M, session, sql_log):
    User = M.User
    users = session.query(User).options(load_only(User.name)).order_by(User.id).all()
    sql = sql_log.statements[0]
    assert "users.id" in sql and "users.name" in sql and "users.bio" not in sql
    assert [u.id for u in users] == [1, 2, 3]
    assert [u.name for u in users] == ["jack", "ed", "fred"]
    assert sql_log.count == 1


def test_column_option_chained_under_relationship(M, session, sql_log):
    User, Address = M.User, M.Address
    users = (session.query(User).options(joinedload(User.addresses).load_only(Address.email))
             .order_by(User.id).all())
    selected = sql_log.statements[0].split("FROM")[0]
    assert "addresses_1.email" in selected and "addresses_1.user_id" not in selected
    sql_log.clear()
    assert [a.email for a in users[0].addresses] == ["jack1@x", "jack2@x"]
    assert sql_log.count == 0


# -- identity map ------------------------------------------------------------------------------
def test_eager_load_keeps_unflushed_changes(M, make_session):
    User, Address = M.User, M.Address
    s = make_session(autoflush=False)
    a1 = s.get(Address, 1)
    a1.email = "changed@x"
    jack = s.query(User).options(joinedload(User.addresses)).filter_by(id=1).one()
    assert jack.addresses[0] is a1
    assert a1.email == "changed@x"
    assert a1 in s.dirty


def test_loaded_collection_is_not_replaced(M, make_session, sql_log):
    User, Address = M.User, M.Address
    s = make_session(autoflush=False)
    jack = s.get(User, 1)
    coll = jack.addresses
    extra = Address(id=10, email="new@x")
    coll.append(extra)
    for opt in (joinedload(User.addresses), selectinload(User.addresses)):
        again = s.query(User).options(opt).filter_by(id=1).one()
        assert again is jack
        assert jack.addresses is coll
        assert [a.email for a in jack.addresses] == ["jack1@x", "jack2@x", "new@x"]


def test_eager_load_refills_objects_expired_by_commit(M, session, sql_log):
    User = M.User
    users = session.query(User).order_by(User.id).all()
    assert _emails(users) == EXPECTED
    session.commit()  # expires every attribute, relationships included
    sql_log.clear()
    for opt in (joinedload(User.addresses), selectinload(User.addresses)):
        session.expire_all()
        sql_log.clear()
        again = session.query(User).options(opt).order_by(User.id).all()
        assert again == users
        n = sql_log.count
        assert _emails(users) == EXPECTED
        assert sql_log.count == n


def test_populate_existing_replaces_loaded_collection(M, engine, make_session):
    User = M.User
    s = make_session(expire_on_commit=False)
    jack = s.get(User, 1)
    assert len(jack.addresses) == 2
    s.commit()  # the next queries run in a new transaction that sees the DELETE
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM dingalings WHERE address_id = 2"))
        conn.execute(text("DELETE FROM address_keywords WHERE address_id = 2"))
        conn.execute(text("DELETE FROM addresses WHERE id = 2"))
    s.query(User).options(selectinload(User.addresses)).filter_by(id=1).one()
    assert len(jack.addresses) == 2
    s.query(User).options(selectinload(User.addresses)).populate_existing().filter_by(id=1).one()
    assert [a.email for a in jack.addresses] == ["jack1@x"]


def test_eager_loaded_objects_are_persistent_and_identity_mapped(M, session, sql_log):
    User, Address = M.User, M.Address
    users = session.query(User).options(joinedload(User.addresses)).all()
    addresses = [a for u in users for a in u.addresses]
    sql_log.clear()
    for a in addresses:
        assert inspect(a).persistent
        assert a in session
        assert session.get(Address, a.id) is a
        assert a.user in users  # many-to-one back through the identity map
    assert sql_log.count == 0
    addresses[0].email = "dirty@x"
    session.flush()
    assert sql_log.matching("UPDATE")


# -- bad input ---------------------------------------------------------------------------------
def test_joinedload_of_column_attribute_raises(M, session):
    with pytest.raises(ArgumentError, match=r"User\.name is not a relationship.*defer"):
        session.query(M.User).options(joinedload(M.User.name)).all()


def test_defer_of_relationship_raises(M, session):
    with pytest.raises(ArgumentError, match=r"User\.addresses is a relationship.*lazyload"):
        session.query(M.User).options(defer(M.User.addresses)).all()


def test_unknown_string_name_raises(M, session, sql_log):
    with pytest.raises(ArgumentError, match="User has no mapped attribute 'adresses'.*addresses"):
        session.query(M.User).options(joinedload("adresses")).all()
    assert sql_log.count == 0


def test_chain_with_attribute_of_wrong_class_raises(M, session):
    User = M.User
    with pytest.raises(ArgumentError, match="path is at Address.*User.name"):
        session.query(User).options(joinedload(User.addresses).joinedload(User.name)).all()


def test_option_for_entity_not_in_query_raises(M, session):
    with pytest.raises(ArgumentError, match="Address is not an entity of this query"):
        session.query(M.User).options(joinedload(M.Address.user)).all()


def test_option_without_attribute_raises():
    with pytest.raises(ArgumentError, match="without an attribute"):
        joinedload()


def test_expired_relationship_loads_again_with_the_options_given_below_it(M, session,
                                                                          sql_log):
    u = session.query(M.User).options(
        joinedload(M.User.addresses).joinedload(M.Address.dingalings)).filter_by(
        name="jack").one()
    session.expire_all()
    sql_log.clear()
    addresses = u.addresses  # the user's row, then its addresses joined to their dingalings
    assert [d.data for d in addresses[0].dingalings] == ["d1", "d2"]
    assert len(sql_log.matching("SELECT")) == 2
    assert "dingalings" in sql_log.matching("SELECT")[-1]


def test_expired_relationship_filled_by_contains_eager_loads_lazily_after_expiry(
        M, session, sql_log):
    a = session.query(M.Address).join(M.Address.user).options(
        contains_eager(M.Address.user).joinedload(M.User.addresses)).filter(
        M.Address.id == 3).one()
    session.expire_all()
    sql_log.clear()
    assert a.user.name == "ed"
    assert [x.email for x in a.user.addresses] == ["ed@x"]
    assert len(sql_log.matching("SELECT")) == 2


# -- the '*' wildcard of relationship loaders --------------------------------------------
def test_raiseload_wildcard_refuses_every_lazy_load_of_the_entity(M, session, sql_log):
    User, Address = M.User, M.Address
    addresses = session.query(Address).options(raiseload("*")).order_by(Address.id).all()
    sql_log.clear()
    for attr in ("user", "dingalings", "keywords"):
        with pytest.raises(InvalidRequestError, match=attr):
            getattr(addresses[0], attr)
    assert sql_log.count == 0
    # a relationship another option names is not covered, whatever the order
    for opts in ([raiseload("*"), selectinload(Address.dingalings)],
                 [selectinload(Address.dingalings), raiseload("*")]):
        session.expunge_all()
        a1 = session.query(Address).options(*opts).filter_by(id=1).one()
        sql_log.clear()
        assert [d.data for d in a1.dingalings] == ["d1", "d2"]
        assert sql_log.count == 0
        with pytest.raises(InvalidRequestError, match="keywords"):
            a1.keywords
    session.expunge_all()
    assert session.get(User, 1).addresses  # options of one query do not stay on the class


def test_lazyload_wildcard_overrides_configured_eager_loading(Base, engine, session,
                                                              sql_log):
    class Shelf(Base):
        __tablename__ = "wc_shelves"
        id = Column(Integer, primary_key=True)
        books = relationship("Book", lazy="joined", order_by="Book.id")
        labels = relationship("Label", lazy="joined", order_by="Label.id")

    class Book(Base):
        __tablename__ = "wc_books"
        id = Column(Integer, primary_key=True)
        shelf_id = Column(ForeignKey("wc_shelves.id"))

    class Label(Base):
        __tablename__ = "wc_labels"
        id = Column(Integer, primary_key=True)
        shelf_id = Column(ForeignKey("wc_shelves.id"))

    Base.metadata.create_all(engine)
    session.add(Shelf(id=1, books=[Book(id=1), Book(id=2)], labels=[Label(id=1)]))
    session.commit()
    session.expunge_all()
    sql_log.clear()
    shelf = session.query(Shelf).options(lazyload("*")).one()
    assert sql_log.count == 1 and "JOIN" not in sql_log.statements[0]
    assert [b.id for b in shelf.books] == [1, 2] and sql_log.count == 2  # lazily
    session.expunge_all()
    sql_log.clear()
    shelf = session.query(Shelf).options(joinedload(Shelf.labels), lazyload("*")).one()
    assert sql_log.count == 1
    assert "JOIN wc_labels" in sql_log.statements[0]
    assert "wc_books" not in sql_log.statements[0]
    assert [lb.id for lb in shelf.labels] == [1] and sql_log.count == 1


def test_wildcard_below_a_path_covers_the_relationships_reached_there(M, session, sql_log):
    User, Address = M.User, M.Address
    u = session.query(User).options(
        joinedload(User.addresses).raiseload("*")).filter_by(id=1).one()
    assert sql_log.count == 1
    with pytest.raises(InvalidRequestError, match="dingalings"):
        u.addresses[0].dingalings
    session.expunge_all()
    u = session.query(User).options(
        joinedload(User.addresses), datamapper.defaultload(User.addresses).raiseload("*"),
    ).filter_by(id=1).one()
    with pytest.raises(InvalidRequestError, match="keywords"):
        u.addresses[0].keywords
    assert isinstance(u.addresses[0], Address)


def test_wildcard_of_a_loader_that_cannot_take_every_relationship_is_refused(M, session):
    with pytest.raises(ArgumentError, match=r"contains_eager\('\*'\).*name the relationships"):
        session.query(M.Address).options(contains_eager("*")).all()


@pytest.mark.parametrize("how", ["one call", "two calls", "select", "below a relationship"])
def test_defer_and_undefer_of_one_attribute_in_one_query_are_refused(M, session, sql_log, how):
    User, Address = M.User, M.Address
    sql_log.clear()
    with pytest.raises(InvalidRequestError, match=r"undefer\(User.bio\).*defer\(\) of User"):
        if how == "one call":
            session.query(User).options(defer(User.bio), undefer(User.bio)).all()
        elif how == "two calls":
            session.query(User).options(defer(User.bio)).options(undefer(User.bio)).all()
        elif how == "select":
            session.scalars(select(User).options(defer(User.bio), undefer(User.bio))).all()
        else:
            session.query(Address).options(
                joinedload(Address.user).defer(User.bio),
                datamapper.defaultload(Address.user).undefer(User.bio)).all()
    assert sql_log.statements == []
    # the same choice twice, or a wildcard or group with a choice, is no conflict
    got = session.query(User).options(undefer(User.bio), undefer(User.bio)).get(1)
    assert "bio" in got.__dict__
    got = session.query(User).options(defer("*"), undefer(User.bio)).filter_by(id=2).one()
    assert "bio" in got.__dict__ and "name" not in got.__dict__


@pytest.mark.parametrize("loader", [joinedload, selectinload, subqueryload])
def test_an_option_configures_the_mappers_so_a_backref_can_be_named_next(
        loader, Base, engine, make_session, sql_log):
    """``joinedload(User.addresses).joinedload(Address.user)`` written before any query
    ran: ``Address.user`` comes from the backref, which exists once the mappers are
    configured; naming ``User.addresses`` in an option configures them (as in
    SQLAlchemy), so the chain can be written in a fresh process."""

    class User(Base):
        __tablename__ = "cfg_users"
        id = Column(Integer, primary_key=True)
        addresses = relationship("Address", backref="user")

    class Address(Base):
        __tablename__ = "cfg_addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("cfg_users.id"))

    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), [{"id": 1}])
        conn.execute(Address.__table__.insert(), [{"id": 1, "user_id": 1}])
    assert not inspect(User).configured
    # the option first (also what sqlalchemy.select(User).options(...) does: Core's
    # select() does not configure mappers)
    opt = loader(User.addresses).options(loader(Address.user))
    stmt = select(User).options(opt)
    s = make_session()
    sql_log.clear()
    (u,) = s.scalars(stmt).unique().all()
    n = len(sql_log)
    assert [a.user for a in u.addresses] == [u]
    assert len(sql_log) == n  # everything came with the query
