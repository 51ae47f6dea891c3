"""Loading an expired object (after expire(obj) or a commit) loads the relationships its
loading loads eagerly with its columns, as SQLAlchemy does: a lazy="joined" one in the
same SELECT, a selectin/subquery/immediate one right after it; the loader options of the
query that loaded the object count as its loading.  A deferred column's load, or an
object whose relationship alone was expired, loads no relationship.  What the database
sees."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import deferred, lazyload, relationship, selectinload


def _models(Base, engine, make_session, lazy):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        bio = deferred(Column(String(50)))
        addresses = relationship("Address", lazy=lazy, order_by="Address.id")

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        email = Column(String(50))
        user_id = Column(Integer, ForeignKey("users.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="jack", bio="b", addresses=[Address(id=1, email="j1"),
                                                            Address(id=2, email="j2")]),
               User(id=2, name="ed")])
    s.commit()
    s.close()
    return User, Address


@pytest.mark.parametrize("lazy", ["joined", "selectin", "subquery", "immediate"])
def test_expired_object_loads_configured_eager_relationship(Base, engine, make_session,
                                                            sql_log, lazy):
    User, _ = _models(Base, engine, make_session, lazy)
    session = make_session()
    u = session.get(User, 1)
    session.expire(u)
    sql_log.clear()
    assert u.name == "jack"
    assert "addresses" in u.__dict__
    assert sql_log.count == (1 if lazy == "joined" else 2)
    if lazy == "joined":
        assert "JOIN addresses" in sql_log.statements[0]
    sql_log.clear()
    assert [a.email for a in u.addresses] == ["j1", "j2"]
    assert sql_log.count == 0


def test_after_commit_joined_relationship_reloads_in_the_same_select(Base, engine,
                                                                     make_session, sql_log):
    User, Address = _models(Base, engine, make_session, "joined")
    session = make_session()
    u = session.get(User, 1)
    u.name = "jacky"
    session.add(Address(id=3, email="j3", user_id=1))
    session.commit()  # expires u
    sql_log.clear()
    assert u.name == "jacky"
    assert sql_log.count == 1
    sql_log.clear()
    assert [a.email for a in u.addresses] == ["j1", "j2", "j3"]
    assert sql_log.count == 0


def test_expired_object_reloads_with_the_options_of_its_query(Base, engine, make_session,
                                                              sql_log):
    User, _ = _models(Base, engine, make_session, "select")
    session = make_session()
    u = session.query(User).options(selectinload(User.addresses)).filter_by(id=1).one()
    session.expire(u)
    sql_log.clear()
    assert u.name == "jack"
    assert sql_log.count == 2  # the row and its addresses, as the query loaded them
    assert "addresses" in u.__dict__


def test_lazyload_option_keeps_the_relationship_lazy_after_expiry(Base, engine,
                                                                  make_session, sql_log):
    User, _ = _models(Base, engine, make_session, "joined")
    session = make_session()
    u = session.query(User).options(lazyload(User.addresses)).filter_by(id=1).one()
    session.expire(u)
    sql_log.clear()
    assert u.name == "jack"
    assert sql_log.count == 1
    assert "JOIN" not in sql_log.statements[0]
    assert "addresses" not in u.__dict__


def test_deferred_column_load_loads_no_relationship(Base, engine, make_session, sql_log):
    User, _ = _models(Base, engine, make_session, "selectin")
    session = make_session()
    u = session.get(User, 1)
    session.expire(u, ["addresses"])
    sql_log.clear()
    assert u.bio == "b"
    assert sql_log.count == 1
    assert "addresses" not in sql_log.statements[0]
    assert "addresses" not in u.__dict__


def test_expired_column_with_loaded_relationship_loads_columns_only(Base, engine,
                                                                    make_session, sql_log):
    User, _ = _models(Base, engine, make_session, "joined")
    session = make_session()
    u = session.get(User, 1)
    session.expire(u, ["name"])
    sql_log.clear()
    assert u.name == "jack"
    assert sql_log.count == 1
    assert "JOIN" not in sql_log.statements[0]


def test_expired_object_deleted_elsewhere_raises(Base, engine, make_session):
    from datamapper.exc import ObjectDeletedError

    User, Address = _models(Base, engine, make_session, "joined")
    session = make_session()
    u = session.get(User, 2)
    session.expire(u)
    # deleted behind the session's back, in its own transaction
    session.connection().execute(User.__table__.delete().where(User.__table__.c.id == 2))
    with pytest.raises(ObjectDeletedError, match="no longer in the database"):
        u.name
