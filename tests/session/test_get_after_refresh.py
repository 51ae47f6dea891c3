"""get() of an object whose only expired attributes are relationships returns it
from the identity map, without SQL and without autoflush (as SQLAlchemy does):
after refresh() (which loads columns and leaves relationships to load on
access) and after expire(obj, [relationship]).  Found by the differential test."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import declarative_base, relationship
from datamapper.session import Session


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class P(Base):
        __tablename__ = "gr_p"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(10))
        children = relationship("C", cascade="all, delete-orphan", backref="parent")

    class C(Base):
        __tablename__ = "gr_c"
        id = Column(Integer, primary_key=True, autoincrement=False)
        p_id = Column(Integer, ForeignKey("gr_p.id"))

    metadata.create_all(engine)
    return P, C


@pytest.mark.parametrize("how", ["refresh", "expire_relationship"])
def test_get_returns_identity_map_object_without_sql(engine, models, sql_log, how):
    P, C = models
    s = Session(engine)
    s.add(P(id=1, name="a", children=[C(id=1)]))
    s.commit()
    p = s.get(P, 1)
    assert p.children
    if how == "refresh":
        s.refresh(p)
    else:
        s.expire(p, ["children"])
    s.add(P(id=2, name="b"))  # pending: an autoflush would INSERT it
    sql_log.clear()
    assert s.get(P, 1) is p
    assert sql_log.count == 0
    assert len(s.new) == 1


def test_get_of_refreshed_object_marked_for_deletion_keeps_it_marked(engine, models, sql_log):
    P, C = models
    s = Session(engine)
    s.add(P(id=1, name="a", children=[C(id=1)]))
    s.commit()
    p = s.get(P, 1)
    s.delete(p)
    with s.no_autoflush:
        s.refresh(p)
    sql_log.clear()
    assert s.get(P, 1) is p
    assert sql_log.count == 0
    assert p in s.deleted
