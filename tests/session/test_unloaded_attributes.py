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


def test_get_finding_the_row_gone_is_undone_by_rollback(Base, engine, make_session,
                                                        read_rows):
    Doc = _models(Base, engine)
    s = make_session()
    s.add(Doc(id=1, title="t"))
    s.commit()
    d = s.get(Doc, 1)
    s.expire_all()
    s.execute(Doc.__table__.delete().where(Doc.__table__.c.id == 1))
    assert s.get(Doc, 1) is None
    assert d not in s
    s.rollback()
    assert d in s
    assert d.title == "t"
    assert read_rows("SELECT id, title FROM u_docs") == [(1, "t")]


def test_get_finding_the_row_gone_stays_out_after_commit(Base, engine, make_session,
                                                         read_rows):
    Doc = _models(Base, engine)
    s = make_session()
    s.add(Doc(id=1, title="t"))
    s.commit()
    d = s.get(Doc, 1)
    s.expire_all()
    s.execute(Doc.__table__.delete().where(Doc.__table__.c.id == 1))
    assert s.get(Doc, 1) is None
    s.commit()
    assert d not in s
    assert inspect(d).detached
    assert read_rows("SELECT id FROM u_docs") == []


def test_expiring_a_collection_drops_backref_changes_queued_while_unloaded(
        parent_child_models, make_session, read_rows):
    Parent, Child = parent_child_models
    s = make_session(autoflush=False)
    p = Parent(id=1, name="p")
    s.add_all([p, Child(id=1, code="c1", parent=p)])
    s.commit()
    s.expire(p, ["children"])
    c2 = Child(id=2, code="c2")
    c2.parent = p  # queued on the unloaded collection
    s.add(c2)
    s.expire(p, ["children"])
    assert [c.code for c in p.children] == ["c1"]  # only what the database holds
    s.flush()  # c2 is still written, through its own reference to p
    s.expire_all()
    assert [c.code for c in p.children] == ["c1", "c2"]
    s.commit()
    assert read_rows("SELECT id, parent_id FROM children ORDER BY id") == [(1, 1), (2, 1)]
