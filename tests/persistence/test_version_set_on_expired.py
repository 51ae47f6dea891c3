"""Assigning the version attribute of an expired object (manual versioning,
``version_id_generator=False``) loads the committed version first, so the UPDATE
still checks it: a row another transaction changed raises StaleDataError."""

import pytest
from sqlalchemy import Column, Integer, String, update

from datamapper.exc import StaleDataError


@pytest.fixture
def M(Base, engine):
    class M(Base):
        __tablename__ = "manual_v"
        id = Column(Integer, primary_key=True)
        data = Column(String(20))
        vid = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": vid, "version_id_generator": False}

    Base.metadata.create_all(engine)
    return M


def test_new_manual_version_on_expired_object_checks_the_old_one(
    engine, make_session, M, read_rows
):
    s = make_session()
    m = M(id=1, data="d1", vid=1)
    s.add(m)
    s.commit()  # m is expired
    m.vid = 2
    s.execute(update(M.__table__).values(vid=3))  # a change the object does not know of
    m.data = "d2"
    with pytest.raises(StaleDataError):
        s.commit()
    s.rollback()
    assert read_rows(M.__table__) == [(1, "d1", 1)]


def test_new_manual_version_on_expired_object_updates_when_unchanged(
    engine, make_session, M, read_rows, sql_log
):
    s = make_session()
    m = M(id=1, data="d1", vid=1)
    s.add(m)
    s.commit()
    m.vid = 2
    m.data = "d2"
    s.commit()
    assert read_rows(M.__table__) == [(1, "d2", 2)]
    updates = sql_log.matching("UPDATE")
    assert len(updates) == 1 and "vid" in updates[0].split("WHERE")[1]
