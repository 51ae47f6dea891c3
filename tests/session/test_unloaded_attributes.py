"""Unloaded attributes of a persistent object: only expired or deferred ones load by
SQL.  One the row never got a value for (not inserted, no default) or that was
deleted with ``del obj.attr`` reads None without a query; loading the expired
attributes leaves nothing listed as expired (deferred columns stay unloaded)."""

from sqlalchemy import Column, Integer, String

from datamapper import deferred, inspect


def _models(Base, engine):
    class Doc(Base):
        __tablename__ = "u_docs"
        id = Column(Integer, primary_key=True)
        title = Column(String(30))
        flag = Column(Integer)
        body = deferred(Column(String(200)))

    Base.metadata.create_all(engine)
    return Doc


def test_attribute_never_inserted_reads_none_without_sql(Base, engine, make_session,
                                                         sql_log, read_rows):
    Doc = _models(Base, engine)
    s = make_session()
    d = Doc(id=1)
    s.add(d)
    s.flush()
    assert "title" not in d.__dict__
    sql_log.clear()
    assert d.title is None
    assert sql_log.count == 0
    s.commit()
    assert read_rows("SELECT id, title, flag, body FROM u_docs") == [(1, None, None, None)]


def test_deleted_attribute_reads_none_without_sql_and_is_written_as_null(
        Base, engine, make_session, sql_log, read_rows):
    Doc = _models(Base, engine)
    s = make_session()
    s.add(Doc(id=1, title="t", flag=3))
    s.commit()
    d = s.get(Doc, 1)
    assert d.flag == 3
    del d.flag
    sql_log.clear()
    assert d.flag is None
    assert sql_log.count == 0
    s.commit()
    assert read_rows("SELECT id, title, flag, body FROM u_docs") == [(1, "t", None, None)]


def test_loading_expired_attributes_leaves_deferred_unloaded_and_nothing_expired(
        Base, engine, make_session, sql_log):
    Doc = _models(Base, engine)
    s = make_session()
    s.add(Doc(id=1, title="t", flag=3, body="long"))
    s.commit()
    d = s.get(Doc, 1)
    s.expire(d)
    assert "body" in inspect(d).expired_attributes
    sql_log.clear()
    assert d.title == "t"
    assert len(sql_log.matching("SELECT")) == 1
    assert inspect(d).expired_attributes == set()
    assert "body" not in d.__dict__
    assert d.body == "long"  # the deferred column still loads on access
    assert len(sql_log.matching("SELECT")) == 2
