"""refresh() and relationships: eager relationships (configured, or by the loader
options of the query that loaded the object) load again with the refresh; lazy
ones are left expired; the primary key is always read; pending changes are
autoflushed first, and an unflushed primary key change is refused without it."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, text

from datamapper import exc, inspect, relationship, selectinload


def _models(Base, engine, lazy):
    class Parent(Base):
        __tablename__ = "r_parents"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        kids = relationship("Kid", lazy=lazy, order_by="Kid.id")

    class Kid(Base):
        __tablename__ = "r_kids"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("r_parents.id"))
        code = Column(String(30))

    Base.metadata.create_all(engine)
    return Parent, Kid


def _seed(make_session, Parent, Kid):
    s = make_session()
    s.add(Parent(id=1, name="p1", kids=[Kid(id=1, code="a")]))
    s.commit()
    s.close()


def _add_kid_behind(session):
    # plain SQL in the session's own transaction: the ORM does not see it until a reload
    session.execute(text("INSERT INTO r_kids (id, parent_id, code) VALUES (2, 1, 'b')"))
    session.execute(text("UPDATE r_parents SET name = 'changed' WHERE id = 1"))


@pytest.mark.parametrize("lazy", ["selectin", "joined", "immediate", "subquery"])
def test_refresh_named_eager_relationship_reloads_it(Base, engine, make_session, sql_log,
                                                     lazy):
    Parent, Kid = _models(Base, engine, lazy)
    _seed(make_session, Parent, Kid)
    s = make_session()
    p = s.get(Parent, 1)
    assert [k.code for k in p.kids] == ["a"]
    _add_kid_behind(s)
    sql_log.clear()
    s.refresh(p, ["name", "kids"])
    assert len(sql_log.matching("SELECT")) == (1 if lazy == "joined" else 2)
    assert "kids" in p.__dict__
    assert sorted(k.code for k in p.__dict__["kids"]) == ["a", "b"]
    assert p.__dict__["name"] == "changed"


def test_refresh_whole_object_reuses_loader_options_of_its_query(Base, engine, make_session,
                                                                 sql_log):
    Parent, Kid = _models(Base, engine, "select")
    _seed(make_session, Parent, Kid)
    s = make_session()
    p = s.get(Parent, 1, options=[selectinload(Parent.kids)])
    assert "kids" in p.__dict__
    _add_kid_behind(s)
    sql_log.clear()
    s.refresh(p)
    assert len(sql_log.matching("SELECT")) == 2
    assert sorted(k.code for k in p.__dict__["kids"]) == ["a", "b"]


def test_refresh_named_lazy_relationship_leaves_it_expired(Base, engine, make_session,
                                                           sql_log):
    Parent, Kid = _models(Base, engine, "select")
    _seed(make_session, Parent, Kid)
    s = make_session()
    p = s.get(Parent, 1)
    assert len(p.kids) == 1
    _add_kid_behind(s)
    sql_log.clear()
    s.refresh(p, ["name", "kids"])
    assert len(sql_log.matching("SELECT")) == 1
    assert "kids" not in p.__dict__
    assert len(p.kids) == 2


def test_refresh_after_expire_reads_the_primary_key_too(Base, engine, make_session):
    Parent, Kid = _models(Base, engine, "joined")
    _seed(make_session, Parent, Kid)
    s = make_session()
    p = s.get(Parent, 1)
    s.expire(p)
    s.refresh(p, ["name", "kids"])
    assert p.__dict__["id"] == 1
    assert p.__dict__["name"] == "p1"
    assert len(p.__dict__["kids"]) == 1


def test_refresh_autoflushes_pending_changes_first(Base, engine, make_session, sql_log):
    Parent, Kid = _models(Base, engine, "select")
    _seed(make_session, Parent, Kid)
    s = make_session()
    k = s.get(Kid, 1)
    k.parent_id = None
    s.refresh(k, ["code"])
    assert k.parent_id is None
    with engine.connect() as conn:
        # the UPDATE went out inside the session's transaction: visible to it only
        assert conn.execute(text("SELECT parent_id FROM r_kids")).scalar() == 1
    s.commit()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT parent_id FROM r_kids")).scalar() is None


def test_refresh_with_unflushed_primary_key_change_autoflushes_it(Base, engine,
                                                                   make_session):
    Parent, Kid = _models(Base, engine, "select")
    _seed(make_session, Parent, Kid)
    s = make_session()
    k = s.get(Kid, 1)
    k.id = 25
    k.code = "unsaved"
    s.refresh(k, ["code"])
    assert k.__dict__["id"] == 25
    assert k.code == "a"
    assert inspect(k).attrs.id.history == ((), [25], ())
    s.commit()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, code FROM r_kids")).all() == [(25, "a")]


def test_refresh_with_unflushed_primary_key_change_refused_without_autoflush(
        Base, engine, make_session):
    Parent, Kid = _models(Base, engine, "select")
    _seed(make_session, Parent, Kid)
    s = make_session(autoflush=False)
    k = s.get(Kid, 1)
    k.id = 25
    with pytest.raises(exc.InvalidRequestError, match="primary key .*'id'.*flush"):
        s.refresh(k, ["code"])
    assert inspect(k).attrs.id.history == ([25], (), [1])
    s.rollback()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM r_kids")).all() == [(1,)]
