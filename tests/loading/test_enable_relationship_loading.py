"""Session.enable_relationship_loading(): a transient or detached object loads its
relationships through a session from the foreign keys it holds, without being
flushed by that session."""

import pytest

from datamapper import exc, inspect


def _seed(make_session, User, Address):
    s = make_session()
    s.add(User(id=1, name="ed", addresses=[Address(id=10, email="ed@x")]))
    s.commit()
    s.close()


def test_transient_object_loads_many_to_one_from_its_foreign_key(
        make_session, models, sql_log, read_rows):
    User, Address = models
    _seed(make_session, User, Address)
    session = make_session()
    a = Address(id=11, email="new@x", user_id=1)
    session.enable_relationship_loading(a)
    sql_log.clear()
    assert a.user.name == "ed"
    assert len(sql_log.matching("SELECT")) == 1
    assert inspect(a).transient  # still not part of the session
    assert a not in session
    session.commit()
    assert [r[0] for r in read_rows(Address.__table__)] == [10]  # nothing was flushed


def test_detached_object_loads_its_collection_through_the_session(make_session, models):
    User, Address = models
    _seed(make_session, User, Address)
    s1 = make_session()
    u = s1.get(User, 1)
    s1.close()
    assert inspect(u).detached
    with pytest.raises(exc.DetachedInstanceError):
        u.addresses
    s2 = make_session()
    s2.enable_relationship_loading(u)
    assert [x.email for x in u.addresses] == ["ed@x"]
    assert inspect(u).detached


def test_without_a_foreign_key_value_the_reference_is_none_without_sql(
        make_session, models, sql_log):
    User, Address = models
    session = make_session()
    a = Address(id=12, email="nobody@x")
    session.enable_relationship_loading(a)
    sql_log.clear()
    assert a.user is None
    assert sql_log.count == 0


def test_object_of_another_session_is_refused(make_session, models):
    User, Address = models
    _seed(make_session, User, Address)
    s1, s2 = make_session(), make_session()
    u = s1.get(User, 1)
    with pytest.raises(exc.InvalidRequestError, match="belongs to session"):
        s2.enable_relationship_loading(u)


def test_load_on_pending_loads_a_pending_objects_many_to_one(Base, engine, make_session,
                                                             sql_log):
    from sqlalchemy import Column, ForeignKey, Integer, String

    from datamapper import relationship

    class Team(Base):
        __tablename__ = "teams"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Player(Base):
        __tablename__ = "players"
        id = Column(Integer, primary_key=True)
        team_id = Column(Integer, ForeignKey("teams.id"))
        team = relationship(Team, load_on_pending=True)
        other = relationship(Team, viewonly=True,
                             primaryjoin="Player.team_id == Team.id")

    Base.metadata.create_all(engine)
    s1 = make_session()
    s1.add(Team(id=1, name="reds"))
    s1.commit()
    s2 = make_session(autoflush=False)
    p = Player(id=1, team_id=1)
    s2.add(p)
    assert inspect(p).pending
    sql_log.clear()
    assert p.team.name == "reds"
    assert len(sql_log.matching("SELECT")) == 1
    assert p.other is None  # without load_on_pending a pending object loads nothing
    assert inspect(p).pending


def test_load_on_pending_collection_load_does_not_flush_the_pending_object(
        Base, engine, make_session, read_rows, sql_log):
    """A pending object's load_on_pending collection is read by its key without
    flushing the session first: the object is not INSERTed (nor its rows) by reading
    one of its attributes."""
    from sqlalchemy import Column, ForeignKey, Integer, String

    from datamapper import relationship

    class Parent(Base):
        __tablename__ = "lop_parents"
        id = Column(Integer, primary_key=True, autoincrement=False)
        children = relationship("Child", load_on_pending=True, order_by="Child.id")

    class Child(Base):
        __tablename__ = "lop_children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("lop_parents.id"))
        name = Column(String(20))

    Base.metadata.create_all(engine)
    with make_session() as s1:
        s1.add_all([Parent(id=1), Child(id=1, parent_id=1, name="a")])
        s1.commit()
    s = make_session()  # autoflush on
    p = Parent(id=2)
    s.add(p)
    s.add(Child(id=5, parent_id=1, name="pending"))
    sql_log.clear()
    assert p.children == []
    assert sql_log.matching("INSERT") == []
    assert inspect(p).pending
    s.rollback()
    assert read_rows(Parent.__table__) == [(1,)]
