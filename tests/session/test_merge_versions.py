"""merge() of a versioned object: a detached copy carrying an older version than the row
(or the session's own object) raises StaleDataError naming the object, the version it
carries and the one found, and changes nothing; a copy without a version, or with the
current one, merges and flushes normally."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import inspect, relationship
from datamapper.exc import StaleDataError


@pytest.fixture
def models(Base, engine):
    class Doc(Base):
        __tablename__ = "docs"
        id = Column(Integer, primary_key=True)
        title = Column(String(40))
        ver = Column(Integer, nullable=False)
        pages = relationship("Page", backref="doc", order_by="Page.id")
        __mapper_args__ = {"version_id_col": ver}

    class Page(Base):
        __tablename__ = "pages"
        id = Column(Integer, primary_key=True)
        doc_id = Column(ForeignKey("docs.id"))
        text = Column(String(40))
        ver = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": ver}

    Base.metadata.create_all(engine)
    return Doc, Page


@pytest.fixture
def detached(models, make_session):
    """Doc 1 (version 1) with page 1, committed; returned detached, fully loaded."""
    Doc, Page = models
    s = make_session(expire_on_commit=False)
    d = Doc(id=1, title="first", pages=[Page(id=1, text="p1")])
    s.add(d)
    s.commit()
    d.pages  # loaded
    s.close()
    return d


def _update_elsewhere(make_session, Doc, title="theirs"):
    s = make_session()
    s.get(Doc, 1).title = title
    s.commit()
    s.close()


def test_merge_of_detached_copy_with_old_version_raises_and_writes_nothing(
        models, detached, make_session, read_rows):
    Doc, _ = models
    _update_elsewhere(make_session, Doc)
    detached.title = "mine"
    s = make_session()
    with pytest.raises(StaleDataError) as info:
        s.merge(detached)
    msg = str(info.value)
    assert "Doc" in msg and "1" in msg and "2" in msg
    assert "version" in msg
    assert not s.dirty and not s.new
    s.commit()
    assert read_rows(Doc.__table__) == [(1, "theirs", 2)]


def test_merge_stale_check_names_expected_and_found_version(
        models, detached, make_session):
    Doc, _ = models
    _update_elsewhere(make_session, Doc)
    _update_elsewhere(make_session, Doc, "again")
    s = make_session()
    with pytest.raises(StaleDataError, match=r"Doc.*\(1,\).*version 1.*version 3"):
        s.merge(detached)


def test_merge_into_session_holding_newer_version_raises_and_leaves_it_unchanged(
        models, detached, make_session):
    Doc, _ = models
    _update_elsewhere(make_session, Doc)
    s = make_session()
    mine = s.get(Doc, 1)
    assert mine.ver == 2
    detached.title = "mine"
    with pytest.raises(StaleDataError):
        s.merge(detached)
    assert mine.title == "theirs"
    assert not inspect(mine).modified


def test_merge_into_expired_session_object_compares_with_loaded_version(
        models, detached, make_session):
    Doc, _ = models
    s = make_session()
    mine = s.get(Doc, 1)
    s.commit()  # expires mine
    _update_elsewhere(make_session, Doc)
    with pytest.raises(StaleDataError):
        s.merge(detached)
    assert mine.title == "theirs"


def test_merge_with_current_version_updates_and_bumps(models, detached, make_session,
                                                      read_rows):
    Doc, _ = models
    detached.title = "mine"
    s = make_session()
    merged = s.merge(detached)
    assert merged.title == "mine"
    s.commit()
    assert read_rows(Doc.__table__) == [(1, "mine", 2)]


def test_merge_of_copy_without_version_updates_latest_row(models, make_session, read_rows):
    Doc, _ = models
    s = make_session()
    s.add(Doc(id=1, title="first"))
    s.commit()
    _update_elsewhere(make_session, Doc)
    s2 = make_session()
    merged = s2.merge(Doc(id=1, title="mine"))
    s2.commit()
    assert merged.ver == 3
    assert read_rows(Doc.__table__) == [(1, "mine", 3)]


def test_merge_cascade_checks_related_object_versions_before_changing_anything(
        models, detached, make_session, read_rows):
    Doc, Page = models
    s = make_session()
    s.get(Page, 1).text = "theirs"
    s.commit()
    detached.title = "mine"
    detached.pages[0].text = "mine"
    s2 = make_session()
    with pytest.raises(StaleDataError, match="Page"):
        s2.merge(detached)
    assert not s2.dirty and not s2.new
    s2.commit()
    assert read_rows(Doc.__table__) == [(1, "first", 1)]
    assert read_rows(Page.__table__) == [(1, 1, "theirs", 2)]


def test_merge_load_false_with_old_version_raises(models, detached, make_session):
    Doc, _ = models
    _update_elsewhere(make_session, Doc)
    s = make_session()
    held = s.get(Doc, 1)
    with pytest.raises(StaleDataError):
        s.merge(detached, load=False)
    assert held.ver == 2 and not inspect(held).modified


def test_merge_load_false_into_empty_session_trusts_the_copy(models, detached, make_session):
    Doc, _ = models
    s = make_session()
    merged = s.merge(detached, load=False)
    assert merged.ver == 1
