"""raiseload for column attributes: deferred(..., raiseload=True) /
mapped_column(deferred_raiseload=True) refuse to load on access (even after expiry)
unless the query undefers them or defers them plainly; defer(..., raiseload=True) and
load_only(..., raiseload=True) do it for one query's objects until they are expired.
Checked by the error and by the SQL sent (none when refused)."""

import pytest
from sqlalchemy import Column, Integer, String
from sqlalchemy.exc import InvalidRequestError

from datamapper import Mapped, defer, deferred, load_only, mapped_column, undefer


@pytest.fixture
def Doc(Base, engine, make_session):
    class Doc(Base):
        __tablename__ = "rl_docs"
        id = Column(Integer, primary_key=True)
        title = Column(String(30))
        body = deferred(Column(String(30)))
        secret = deferred(Column(String(30)), raiseload=True)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Doc(id=1, title="t", body="b", secret="s"))
    s.commit()
    s.close()
    return Doc


def test_mapper_raiseload_refuses_without_sql(Doc, session, sql_log):
    d = session.query(Doc).one()
    sql_log.clear()
    with pytest.raises(InvalidRequestError, match=r"'Doc.secret' is not available due to "
                                                  r"raiseload=True"):
        d.secret
    assert sql_log.count == 0
    assert d.body == "b"  # a plain deferred column still loads


@pytest.mark.parametrize("whole", [True, False])
def test_mapper_raiseload_survives_expiry(Doc, session, whole):
    d = session.query(Doc).one()
    d.secret = "changed"
    session.expire(d) if whole else session.expire(d, ["secret"])
    with pytest.raises(InvalidRequestError, match="raiseload=True"):
        d.secret


def test_undefer_or_plain_defer_lifts_mapper_raiseload(Doc, session, sql_log):
    d = session.query(Doc).options(undefer(Doc.secret)).one()
    assert "secret" in d.__dict__
    session.expunge_all()
    d = session.query(Doc).options(defer(Doc.secret)).one()
    assert "secret" not in d.__dict__
    sql_log.clear()
    assert d.secret == "s"
    assert sql_log.count == 1


def test_defer_raiseload_option_until_expired(Doc, session, sql_log):
    d = session.query(Doc).options(defer(Doc.title, raiseload=True)).one()
    with pytest.raises(InvalidRequestError, match="'Doc.title' is not available"):
        d.title
    session.expire(d, ["title"])
    assert d.title == "t"
    session.expunge_all()
    d = session.query(Doc).options(defer(Doc.title, raiseload=True)).one()
    session.expire(d)
    assert d.title == "t"


def test_load_only_raiseload_refuses_the_other_columns(Doc, session):
    d = session.query(Doc).options(load_only(Doc.body, raiseload=True)).one()
    assert d.body == "b"
    with pytest.raises(InvalidRequestError, match="'Doc.title' is not available"):
        d.title


def test_refused_column_is_not_loaded_with_other_expired_ones(Doc, session, sql_log):
    d = session.query(Doc).options(defer(Doc.title, raiseload=True)).one()
    session.expire(d, ["body"])
    assert d.body == "b"
    assert "title" not in d.__dict__
    assert "title" not in sql_log.statements[-1]


def test_mapped_column_deferred_raiseload(Base, engine, session):
    class Note(Base):
        __tablename__ = "rl_notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        text: Mapped[str] = mapped_column(String(30), deferred_raiseload=True)

    Base.metadata.create_all(engine)
    session.add(Note(id=1, text="x"))
    session.commit()
    session.expunge_all()
    n = session.get(Note, 1)
    with pytest.raises(InvalidRequestError, match="'Note.text' is not available"):
        n.text
