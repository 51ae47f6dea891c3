"""Version counters (``version_id_col``): the committed version is bound in the WHERE of
every UPDATE and DELETE and a new one is SET by UPDATE, whether the object was loaded,
expired by a commit, has the version (or another) column deferred, was merged, or is one
of many rows in a batch; a row changed by another transaction raises StaleDataError and
writes nothing.  Generators: the default counter, a callable (uuid strings) and False
(the database sets the version; the ORM fetches it after INSERT and UPDATE)."""

import uuid

import pytest
from sqlalchemy import Column, FetchedValue, ForeignKey, Integer, String, Table

from datamapper import deferred, relationship
from datamapper.exc import ArgumentError, FlushError, StaleDataError


@pytest.fixture
def V(Base, engine):
    class V(Base):
        __tablename__ = "v"
        id = Column(Integer, primary_key=True)
        n = Column(Integer)
        note = Column(String(40))
        ver = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": ver}

    Base.metadata.create_all(engine)
    return V


def _seed(make_session, cls, count=1, **kw):
    s = make_session()
    s.add_all([cls(id=i, n=i, **kw) for i in range(1, count + 1)])
    s.commit()
    s.close()


def _bump_elsewhere(engine, table, ident, column="ver", value=None):
    """Another transaction changes row ``ident`` and its version."""
    with engine.begin() as conn:
        if value is None:
            conn.execute(table.update().where(table.c.id == ident)
                         .values({column: table.c[column] + 1, "n": 100}))
        else:
            conn.execute(table.update().where(table.c.id == ident)
                         .values({column: value, "n": 100}))


# -- expired by commit ----------------------------------------------------------------------
def test_update_after_commit_binds_committed_version_of_expired_object(
        V, make_session, read_rows, sql_log):
    _seed(make_session, V)
    s = make_session()
    o = s.get(V, 1)
    s.commit()
    o.n = 5
    s.commit()
    assert read_rows(V.__table__) == [(1, 5, None, 2)]
    updates = [e for e in sql_log.entries if e.statement.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1
    assert None not in (updates[0].parameters.values() if isinstance(updates[0].parameters, dict)
                        else updates[0].parameters)
    assert o.ver == 2


def test_delete_after_commit_binds_committed_version_of_expired_object(
        V, make_session, read_rows):
    _seed(make_session, V)
    s = make_session()
    o = s.get(V, 1)
    s.commit()
    s.delete(o)
    s.commit()
    assert read_rows(V.__table__) == []


def test_expired_object_updated_twice_across_commits(V, make_session, read_rows):
    _seed(make_session, V)
    s = make_session()
    o = s.get(V, 1)
    for i in range(3):
        s.commit()
        o.n = 10 + i
    s.commit()
    assert read_rows(V.__table__) == [(1, 12, None, 4)]


def test_expired_object_whose_row_was_deleted_elsewhere_raises_stale_data_on_update(
        V, make_session, engine, read_rows):
    _seed(make_session, V)
    s = make_session()
    o = s.get(V, 1)
    s.commit()
    with engine.begin() as conn:
        conn.execute(V.__table__.delete())
    o.n = 5
    with pytest.raises(StaleDataError, match="V"):
        s.commit()
    s.rollback()
    assert read_rows(V.__table__) == []


def test_expired_version_set_by_hand_is_written_and_old_version_bound(
        V, make_session, read_rows):
    _seed(make_session, V)
    s = make_session()
    o = s.get(V, 1)
    s.commit()
    o.ver = 7
    o.n = 5
    s.commit()
    assert read_rows(V.__table__) == [(1, 5, None, 7)]


def test_version_set_by_hand_after_another_change_of_the_expired_object_is_written(
        V, make_session, read_rows):
    """Setting the version of an expired object loads its old version, which autoflushes
    the change made before it; the version set afterwards is still written."""
    _seed(make_session, V)
    s = make_session()
    o = s.get(V, 1)
    s.commit()
    o.n = 5  # expired: no old value loaded
    o.ver = 7  # loads the old version: autoflushes n=5 (the version moves to 2)
    s.commit()
    assert read_rows(V.__table__) == [(1, 5, None, 7)]


def test_version_set_to_none_by_hand_is_refused_and_nothing_written(
        V, make_session, read_rows):
    _seed(make_session, V)
    s = make_session()
    o = s.get(V, 1)
    o.n = 5
    o.ver = None
    with pytest.raises(FlushError, match="version attribute 'ver' was set to None"):
        s.flush()
    s.rollback()
    assert read_rows(V.__table__) == [(1, 1, None, 1)]


@pytest.mark.parametrize("how", ["get", "query"])
def test_locking_a_loaded_object_whose_row_moved_on_raises_stale_data(
        V, make_session, engine, read_rows, how):
    """get(..., with_for_update=...) / query.with_for_update() of an object the session
    holds: the locked row must be at the object's version; after a refresh it is."""
    _seed(make_session, V, count=2)
    s = make_session(expire_on_commit=False)
    o = s.get(V, 1)
    s.commit()
    _bump_elsewhere(engine, V.__table__, 1)

    def lock() -> object:
        if how == "get":
            return s.get(V, 1, with_for_update=True)
        return s.query(V).with_for_update().filter(V.id == 1).one()

    with pytest.raises(StaleDataError, match=r"holds version 1 .* row is at version 2"):
        lock()
    assert o.n == 1  # left as it was
    s.refresh(o)
    assert lock() is o and o.ver == 2
    # an object whose version matches, and one not loaded before, lock without complaint
    assert s.query(V).with_for_update().order_by(V.id).all()[1].n == 2
    s.rollback()


def test_loaded_version_set_by_hand_is_written(V, make_session, read_rows):
    _seed(make_session, V)
    s = make_session()
    o = s.get(V, 1)
    o.ver = 9
    s.commit()
    assert read_rows(V.__table__) == [(1, 1, None, 9)]


# -- deferred columns -----------------------------------------------------------------------
@pytest.fixture
def DeferredVersion(Base, engine):
    t = Table("dv", Base.metadata,
              Column("id", Integer, primary_key=True), Column("n", Integer),
              Column("note", String(40)), Column("ver", Integer, nullable=False))

    class DeferredVersion(Base):
        __table__ = t
        ver = deferred(t.c.ver)
        note = deferred(t.c.note)
        __mapper_args__ = {"version_id_col": t.c.ver}

    Base.metadata.create_all(engine)
    return DeferredVersion


def test_update_with_deferred_version_column_binds_committed_version(
        DeferredVersion, make_session, read_rows):
    _seed(make_session, DeferredVersion)
    s = make_session()
    o = s.get(DeferredVersion, 1)
    assert "ver" not in o.__dict__
    o.n = 5
    s.commit()
    assert read_rows(DeferredVersion.__table__) == [(1, 5, None, 2)]


def test_concurrent_change_detected_with_deferred_version_loaded_before_it(
        DeferredVersion, make_session, engine, read_rows):
    _seed(make_session, DeferredVersion)
    s = make_session(expire_on_commit=False)
    o = s.get(DeferredVersion, 1)
    assert o.ver == 1  # loaded now
    s.commit()
    _bump_elsewhere(engine, DeferredVersion.__table__, 1)
    o.n = 5
    with pytest.raises(StaleDataError):
        s.commit()
    s.rollback()
    assert read_rows(DeferredVersion.__table__) == [(1, 100, None, 2)]


def test_update_and_delete_of_deferred_column_change_on_expired_versioned_object(
        DeferredVersion, make_session, read_rows):
    _seed(make_session, DeferredVersion, count=2)
    s = make_session()
    a, b = s.get(DeferredVersion, 1), s.get(DeferredVersion, 2)
    s.commit()
    a.note = "deferred changed"
    s.delete(b)
    s.commit()
    assert read_rows(DeferredVersion.__table__) == [(1, 1, "deferred changed", 2)]


def test_other_column_deferred_does_not_disturb_version(Base, engine, make_session, read_rows):
    t = Table("od", Base.metadata, Column("id", Integer, primary_key=True),
              Column("n", Integer), Column("note", String(40)),
              Column("ver", Integer, nullable=False))

    class OD(Base):
        __table__ = t
        note = deferred(t.c.note)
        __mapper_args__ = {"version_id_col": t.c.ver}

    Base.metadata.create_all(engine)
    _seed(make_session, OD)
    s = make_session()
    o = s.get(OD, 1)
    o.note = "x"
    s.commit()
    o.n = 3
    s.commit()
    assert read_rows(t) == [(1, 3, "x", 3)]


# -- concurrent sessions --------------------------------------------------------------------
def test_stale_update_from_second_session_raises_and_writes_nothing(
        V, make_session, read_rows):
    _seed(make_session, V)
    s1, s2 = make_session(expire_on_commit=False), make_session()
    a = s1.get(V, 1)
    s1.commit()
    b = s2.get(V, 1)
    b.n = 2
    s2.commit()
    a.n = 3
    with pytest.raises(StaleDataError) as info:
        s1.commit()
    assert "'v'" in str(info.value)
    s1.rollback()
    assert read_rows(V.__table__) == [(1, 2, None, 2)]


def test_stale_delete_from_second_session_raises_and_deletes_nothing(
        V, make_session, read_rows):
    _seed(make_session, V)
    s1, s2 = make_session(expire_on_commit=False), make_session()
    a = s1.get(V, 1)
    s1.commit()
    b = s2.get(V, 1)
    b.n = 2
    s2.commit()
    s1.delete(a)
    with pytest.raises(StaleDataError):
        s1.commit()
    s1.rollback()
    assert read_rows(V.__table__) == [(1, 2, None, 2)]


def test_delete_of_row_already_deleted_by_second_session_raises(V, make_session, read_rows):
    _seed(make_session, V)
    s1, s2 = make_session(expire_on_commit=False), make_session()
    a = s1.get(V, 1)
    s1.commit()
    s2.delete(s2.get(V, 1))
    s2.commit()
    s1.delete(a)
    with pytest.raises(StaleDataError):
        s1.commit()
    s1.rollback()
    assert read_rows(V.__table__) == []


# -- batches --------------------------------------------------------------------------------
def _multi(sql_log, verb):
    return [e for e in sql_log.entries if e.statement.lstrip().upper().startswith(verb)]


def test_batched_versioned_updates_are_one_executemany(V, make_session, read_rows, sql_log):
    _seed(make_session, V, count=5)
    s = make_session()
    objs = s.query(V).order_by(V.id).all()
    for o in objs:
        o.n += 10
    sql_log.clear()
    s.commit()
    updates = _multi(sql_log, "UPDATE")
    assert len(updates) == 1 and updates[0].executemany
    assert read_rows(V.__table__) == [(i, i + 10, None, 2) for i in range(1, 6)]


def test_one_stale_row_in_a_batch_of_updates_fails_the_flush_and_applies_none(
        V, make_session, engine, read_rows):
    _seed(make_session, V, count=5)
    s = make_session(expire_on_commit=False)
    objs = s.query(V).order_by(V.id).all()
    s.commit()
    _bump_elsewhere(engine, V.__table__, 3)
    for o in objs:
        o.n = 50
    with pytest.raises(StaleDataError) as info:
        s.commit()
    assert "expected to match 5" in str(info.value)
    s.rollback()
    assert read_rows(V.__table__) == [(i, 100 if i == 3 else i, None, 2 if i == 3 else 1)
                                      for i in range(1, 6)]


def test_one_stale_row_in_a_batch_of_deletes_fails_the_flush_and_deletes_none(
        V, make_session, engine, read_rows):
    _seed(make_session, V, count=5)
    s = make_session(expire_on_commit=False)
    objs = s.query(V).order_by(V.id).all()
    s.commit()
    _bump_elsewhere(engine, V.__table__, 4)
    for o in objs:
        s.delete(o)
    with pytest.raises(StaleDataError):
        s.commit()
    s.rollback()
    assert len(read_rows(V.__table__)) == 5


@pytest.mark.parametrize("verb", ["update", "delete"])
def test_without_sane_multi_rowcount_batched_versioned_rows_are_checked_one_by_one(
        V, make_session, engine, read_rows, sql_log, monkeypatch, verb):
    _seed(make_session, V, count=4)
    s = make_session(expire_on_commit=False)
    objs = s.query(V).order_by(V.id).all()
    s.commit()
    monkeypatch.setattr(engine.dialect, "supports_sane_multi_rowcount", False)
    _bump_elsewhere(engine, V.__table__, 2)
    for o in objs:
        if verb == "update":
            o.n = 7
        else:
            s.delete(o)
    sql_log.clear()
    with pytest.raises(StaleDataError) as info:
        s.commit()
    assert "expected to match 1" in str(info.value)
    writes = _multi(sql_log, verb.upper())
    assert writes and not any(e.executemany for e in writes)
    s.rollback()
    assert read_rows(V.__table__) == [(i, 100 if i == 2 else i, None, 2 if i == 2 else 1)
                                      for i in range(1, 5)]


@pytest.mark.parametrize("verb", ["update", "delete"])
def test_without_sane_rowcount_versioned_writes_warn_that_they_cannot_be_checked(
        V, make_session, engine, read_rows, monkeypatch, verb):
    """A dialect whose row counts mean nothing: the versioned UPDATE/DELETE runs, and a
    warning says the version could not be verified (a stale row is not detected)."""
    import warnings

    from sqlalchemy.exc import SAWarning

    _seed(make_session, V, count=1)
    s = make_session(expire_on_commit=False)
    o = s.get(V, 1)
    s.commit()
    monkeypatch.setattr(engine.dialect, "supports_sane_rowcount", False)
    monkeypatch.setattr(engine.dialect, "supports_sane_multi_rowcount", False)
    _bump_elsewhere(engine, V.__table__, 1)  # stale: the row is at version 2 now
    if verb == "update":
        o.n = 7
    else:
        s.delete(o)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.commit()
    messages = [str(w.message) for w in caught if issubclass(w.category, SAWarning)]
    assert len(messages) == 1
    assert f"an {verb.upper()} of table 'v'" in messages[0]
    assert "does not report" in messages[0]
    # the stale row was not matched, and nothing could tell
    assert read_rows(V.__table__) == [(1, 100, None, 2)]


def test_batched_updates_of_expired_objects_load_versions_in_one_select(
        V, make_session, read_rows, sql_log):
    _seed(make_session, V, count=6)
    s = make_session()
    objs = s.query(V).order_by(V.id).all()
    s.commit()
    for o in objs:
        o.n = 0
    sql_log.clear()
    s.commit()
    assert len(_multi(sql_log, "SELECT")) == 1
    assert read_rows(V.__table__) == [(i, 0, None, 2) for i in range(1, 7)]


# -- version_id_generator -------------------------------------------------------------------
@pytest.fixture
def U(Base, engine):
    class U(Base):
        __tablename__ = "u"
        id = Column(Integer, primary_key=True)
        n = Column(Integer)
        ver = Column(String(32), nullable=False)
        __mapper_args__ = {"version_id_col": ver,
                           "version_id_generator": lambda v: uuid.uuid4().hex}

    Base.metadata.create_all(engine)
    return U


def test_callable_generator_sets_new_string_version_on_insert_and_update(
        U, make_session, read_rows):
    s = make_session()
    o = U(id=1, n=1)
    s.add(o)
    s.commit()
    (row,) = read_rows(U.__table__)
    first = row[2]
    assert len(first) == 32
    o.n = 2
    s.commit()
    (row,) = read_rows(U.__table__)
    assert row[2] != first and len(row[2]) == 32
    assert o.ver == row[2]


def test_callable_generator_detects_stale_update_and_delete(U, make_session, engine, read_rows):
    _seed(make_session, U)
    s = make_session(expire_on_commit=False)
    o = s.get(U, 1)
    s.commit()
    _bump_elsewhere(engine, U.__table__, 1, value="other")
    o.n = 2
    with pytest.raises(StaleDataError):
        s.commit()
    s.rollback()
    s.delete(s.get(U, 1))
    s.commit()
    assert read_rows(U.__table__) == []


def test_callable_generator_after_commit_expiry(U, make_session, read_rows):
    _seed(make_session, U)
    s = make_session()
    o = s.get(U, 1)
    s.commit()
    o.n = 9
    s.commit()
    assert read_rows(U.__table__)[0][:2] == (1, 9)


def _server_version_trigger(engine, table):
    """A trigger that adds 1 to ``ver`` on each UPDATE (the database owns the version)."""
    name = table.name
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name}_ver AFTER UPDATE ON {name} FOR EACH ROW "
                f"WHEN NEW.ver = OLD.ver BEGIN UPDATE {name} SET ver = OLD.ver + 1 "
                f"WHERE id = NEW.id; END")
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                f"CREATE FUNCTION {name}_ver() RETURNS trigger AS $$ BEGIN "
                f"NEW.ver := OLD.ver + 1; RETURN NEW; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name}_ver BEFORE UPDATE ON {name} FOR EACH ROW "
                f"EXECUTE FUNCTION {name}_ver()")
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name}_ver BEFORE UPDATE ON {name} FOR EACH ROW "
                f"SET NEW.ver = OLD.ver + 1")


def _drop_trigger(engine, table):
    name = table.name
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_ver ON {name}")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}_ver()")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_ver")


@pytest.fixture
def S(Base, engine):
    class S(Base):
        __tablename__ = "sv"
        id = Column(Integer, primary_key=True)
        n = Column(Integer)
        ver = Column(Integer, nullable=False, server_default="1",
                     server_onupdate=FetchedValue())
        __mapper_args__ = {"version_id_col": ver, "version_id_generator": False}

    Base.metadata.create_all(engine)
    _server_version_trigger(engine, S.__table__)
    yield S
    _drop_trigger(engine, S.__table__)


def test_server_side_version_is_fetched_after_insert_and_update(
        S, make_session, read_rows, sql_log):
    s = make_session(expire_on_commit=False)
    o = S(id=1, n=1)
    s.add(o)
    s.commit()
    assert o.__dict__.get("ver") == 1
    o.n = 2
    s.commit()
    assert o.__dict__.get("ver") == 2
    o.n = 3
    s.commit()
    assert read_rows(S.__table__) == [(1, 3, 3)]
    assert o.__dict__.get("ver") == 3
    update = _multi(sql_log, "UPDATE")[-1]
    assert "ver" not in update.statement.upper().split("WHERE")[0].replace("UPDATE SV", "")


def test_server_side_version_detects_change_made_after_our_flush(
        S, make_session, engine, read_rows):
    s = make_session(expire_on_commit=False)
    o = S(id=1, n=1)
    s.add(o)
    s.commit()
    with engine.begin() as conn:  # the trigger bumps the version to 2
        conn.execute(S.__table__.update().values(n=100))
    o.n = 5
    with pytest.raises(StaleDataError):
        s.commit()
    s.rollback()
    assert read_rows(S.__table__) == [(1, 100, 2)]


def test_server_side_version_stale_delete(S, make_session, engine, read_rows):
    s = make_session(expire_on_commit=False)
    o = S(id=1, n=1)
    s.add(o)
    s.commit()
    o.n = 2
    s.commit()
    with engine.begin() as conn:
        conn.execute(S.__table__.update().values(n=100))
    s.delete(o)
    with pytest.raises(StaleDataError):
        s.commit()
    s.rollback()
    assert read_rows(S.__table__) == [(1, 100, 3)]


def test_server_side_version_many_rows_in_one_flush(S, make_session, read_rows):
    s = make_session(expire_on_commit=False)
    objs = [S(id=i, n=i) for i in range(1, 5)]
    s.add_all(objs)
    s.commit()
    for o in objs:
        o.n += 10
    s.commit()
    assert [o.__dict__.get("ver") for o in objs] == [2, 2, 2, 2]
    assert read_rows(S.__table__) == [(i, i + 10, 2) for i in range(1, 5)]


def test_server_side_version_with_generated_keys(S, make_session, read_rows):
    s = make_session(expire_on_commit=False)
    objs = [S(n=i) for i in range(3)]
    s.add_all(objs)
    s.commit()
    assert [o.__dict__.get("ver") for o in objs] == [1, 1, 1]
    objs[1].n = 50
    s.commit()
    assert objs[1].__dict__.get("ver") == 2
    assert sorted(r[1:] for r in read_rows(S.__table__)) == [(0, 1), (2, 1), (50, 2)]


def test_version_id_generator_must_be_callable_or_false(Base):
    with pytest.raises(ArgumentError, match="version_id_generator"):
        class Bad(Base):
            __tablename__ = "bad"
            id = Column(Integer, primary_key=True)
            ver = Column(Integer)
            __mapper_args__ = {"version_id_col": ver, "version_id_generator": 5}


def test_version_id_col_given_by_name_in_mapper_args(Base, engine, make_session, read_rows):
    class Named(Base):
        __tablename__ = "named"
        id = Column(Integer, primary_key=True)
        n = Column(Integer)
        ver = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": "ver"}

    Base.metadata.create_all(engine)
    _seed(make_session, Named)
    s = make_session()
    s.get(Named, 1).n = 4
    s.commit()
    assert read_rows(Named.__table__) == [(1, 4, 2)]


# -- relationships --------------------------------------------------------------------------
@pytest.fixture
def family(Base, engine):
    link = Table("pt", Base.metadata,
                 Column("pid", ForeignKey("vp.id"), primary_key=True),
                 Column("tid", ForeignKey("vt.id"), primary_key=True))

    class P(Base):
        __tablename__ = "vp"
        id = Column(Integer, primary_key=True)
        n = Column(Integer)
        ver = Column(Integer, nullable=False)
        kids = relationship("C", backref="parent")
        tags = relationship("T", secondary=link)
        __mapper_args__ = {"version_id_col": ver}

    class C(Base):
        __tablename__ = "vc"
        id = Column(Integer, primary_key=True)
        pid = Column(ForeignKey("vp.id"))
        ver = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": ver}

    class T(Base):
        __tablename__ = "vt"
        id = Column(Integer, primary_key=True)

    Base.metadata.create_all(engine)
    return P, C, T


def test_collection_change_alone_does_not_update_versioned_parent(
        family, make_session, read_rows, sql_log):
    P, C, T = family
    s = make_session()
    s.add_all([P(id=1, n=1), T(id=1)])
    s.commit()
    p = s.get(P, 1)
    p.kids.append(C(id=1))
    p.tags.append(s.get(T, 1))
    sql_log.clear()
    s.commit()
    assert not [st for st in sql_log.matching("UPDATE") if "vp" in st]
    assert read_rows(P.__table__) == [(1, 1, 1)]
    assert read_rows(C.__table__) == [(1, 1, 1)]


def test_many_to_one_change_bumps_versioned_child(family, make_session, read_rows):
    P, C, T = family
    s = make_session()
    s.add(P(id=1, n=1, kids=[C(id=1)]))
    s.add(P(id=2, n=2))
    s.commit()
    c = s.get(C, 1)
    c.parent = s.get(P, 2)
    s.commit()
    assert read_rows(C.__table__) == [(1, 2, 2)]
    assert read_rows(P.__table__) == [(1, 1, 1), (2, 2, 1)]


def test_parent_column_and_collection_change_bumps_parent_once(family, make_session, read_rows):
    P, C, T = family
    s = make_session()
    s.add(P(id=1, n=1))
    s.commit()
    p = s.get(P, 1)
    p.n = 2
    p.kids.append(C(id=1))
    s.commit()
    assert read_rows(P.__table__) == [(1, 2, 2)]


# -- post_update ----------------------------------------------------------------------------
@pytest.fixture
def Node(Base, engine):
    class Node(Base):
        __tablename__ = "vnode"
        id = Column(Integer, primary_key=True)
        fav_id = Column(ForeignKey("vnode.id"))
        x = Column(String(10))
        ver = Column(Integer, nullable=False)
        fav = relationship("Node", remote_side=[id], post_update=True)
        __mapper_args__ = {"version_id_col": ver}

    Base.metadata.create_all(engine)
    return Node


def _post_updates(sql_log):
    return [e for e in sql_log.entries
            if e.statement.lstrip().upper().startswith("UPDATE") and "fav_id" in e.statement]


def test_post_update_of_new_row_checks_its_first_version_without_moving_it(
        Node, make_session, read_rows, sql_log):
    s = make_session()
    a = Node(id=1)
    a.fav = a
    s.add(a)
    s.commit()
    (post,) = _post_updates(sql_log)
    assert "ver" in post.statement.split("WHERE")[1]
    assert read_rows(Node.__table__) == [(1, 1, None, 1)]


def test_post_update_of_existing_row_checks_and_moves_version(Node, make_session, read_rows):
    s = make_session()
    a = Node(id=1)
    a.fav = a
    s.add(a)
    s.commit()
    b = s.get(Node, 1)
    b.fav = None
    b.x = "q"
    s.commit()
    # the row's UPDATE moves it to 2, the post_update UPDATE to 3 (as SQLAlchemy)
    assert read_rows(Node.__table__) == [(1, None, "q", 3)]
    s.get(Node, 1).x = "r"
    s.commit()
    assert read_rows(Node.__table__) == [(1, None, "r", 4)]


def test_stale_post_update_raises(Node, make_session, engine, read_rows):
    s = make_session(expire_on_commit=False)
    a = Node(id=1)
    s.add_all([a, Node(id=2)])
    s.commit()
    with engine.begin() as conn:
        conn.execute(Node.__table__.update().where(Node.__table__.c.id == 1).values(ver=5))
    a.fav = s.get(Node, 2)
    with pytest.raises(StaleDataError):
        s.commit()
    s.rollback()
    assert read_rows(Node.__table__) == [(1, None, None, 5), (2, None, None, 1)]


# -- identity map kinds ---------------------------------------------------------------------
@pytest.mark.parametrize("weak", [True, False], ids=["weak", "strong"])
def test_expired_update_and_stale_check_with_either_identity_map(
        V, make_session, engine, read_rows, weak):
    _seed(make_session, V, count=2)
    s = make_session(weak_identity_map=weak)
    a, b = s.get(V, 1), s.get(V, 2)
    s.commit()  # both expired
    a.n = 10
    b.note = "x"
    del a, b  # the session alone keeps the changed objects
    s.commit()
    assert read_rows(V.__table__) == [(1, 10, None, 2), (2, 2, "x", 2)]
    s2 = make_session(weak_identity_map=weak, expire_on_commit=False)
    c = s2.get(V, 1)
    s2.commit()
    with engine.begin() as conn:
        conn.execute(V.__table__.update().where(V.__table__.c.id == 1).values(ver=9))
    c.n = 11
    with pytest.raises(StaleDataError):
        s2.commit()
    s2.rollback()
    assert read_rows(V.__table__) == [(1, 10, None, 9), (2, 2, "x", 2)]


def test_server_side_version_missing_after_insert_is_a_named_flush_error(
        Base, engine, make_session, read_rows):
    from datamapper.exc import FlushError

    class NoVer(Base):
        __tablename__ = "nover"
        id = Column(Integer, primary_key=True)
        ver = Column(Integer)
        __mapper_args__ = {"version_id_col": ver, "version_id_generator": False}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(NoVer(id=1))
    with pytest.raises(FlushError, match="version_id_generator=False"):
        s.commit()
    s.rollback()
    assert read_rows(NoVer.__table__) == []
