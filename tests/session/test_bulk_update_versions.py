"""A bulk UPDATE by primary key of a versioned class whose dictionaries give the
row's version (``bulk_update_mappings`` and ``session.execute(update(C), [...])``):
the UPDATE matches that version and writes the next one, as a flush does; a row
whose version moved on is not overwritten (StaleDataError where the driver counts
rows)."""

import pytest
from sqlalchemy import Integer, String, update

import datamapper as dm
from datamapper import exc

Q = "SELECT id, value, version_id FROM bv_things ORDER BY id"


@pytest.fixture
def Thing(Base, engine):
    class Thing(Base):
        __tablename__ = "bv_things"
        id = dm.mapped_column(Integer, primary_key=True)
        value = dm.mapped_column(String(20))
        version_id = dm.mapped_column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version_id}

    Base.metadata.create_all(engine)
    return Thing


@pytest.fixture
def two_rows(Thing, session):
    session.add_all([Thing(id=1, value="a"), Thing(id=2, value="b")])
    session.commit()
    return Thing


def _run(session, Thing, how, rows):
    if how == "bulk_update_mappings":
        session.bulk_update_mappings(Thing, rows)
    else:
        session.execute(update(Thing), rows)


@pytest.mark.parametrize("how", ["bulk_update_mappings", "execute"])
def test_bulk_update_with_versions_writes_the_next_version(two_rows, session, read_rows, how):
    Thing = two_rows
    _run(session, Thing, how, [{"id": 1, "value": "a2", "version_id": 1},
                               {"id": 2, "value": "b2", "version_id": 1}])
    session.commit()
    assert read_rows(Q) == [(1, "a2", 2), (2, "b2", 2)]


@pytest.mark.parametrize("how", ["bulk_update_mappings", "execute"])
def test_bulk_update_with_a_stale_version_does_not_overwrite(two_rows, session, read_rows,
                                                             engine, how):
    Thing = two_rows
    with engine.begin() as c:  # another writer moved row 2 on
        c.execute(Thing.__table__.update().where(Thing.__table__.c.id == 2)
                  .values(value="other", version_id=2))
    rows = [{"id": 1, "value": "a2", "version_id": 1},
            {"id": 2, "value": "b2", "version_id": 1}]
    if engine.dialect.supports_sane_multi_rowcount:
        with pytest.raises(exc.StaleDataError, match="Thing.*version"):
            _run(session, Thing, how, rows)
        session.rollback()
        assert read_rows(Q) == [(1, "a", 1), (2, "other", 2)]
    else:  # the driver can't count executemany rows: the version still guards the row
        _run(session, Thing, how, rows)
        session.commit()
        assert read_rows(Q) == [(1, "a2", 2), (2, "other", 2)]


def test_bulk_update_without_the_version_does_not_check_it(two_rows, session, read_rows):
    Thing = two_rows
    session.bulk_update_mappings(Thing, [{"id": 1, "value": "a3"}])
    session.commit()
    assert read_rows(Q) == [(1, "a3", 1), (2, "b", 1)]
