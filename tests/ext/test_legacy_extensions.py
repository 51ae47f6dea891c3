"""SessionExtension and MapperExtension (0.4-0.6 documents): each overridden method is
a listener of the session or mapper event of the same meaning, with the old argument
lists; several mapper extensions form a chain that EXT_STOP cuts short."""

import warnings

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.engine import Connection

import datamapper
from datamapper import (
    EXT_CONTINUE,
    EXT_STOP,
    MapperExtension,
    Session,
    SessionExtension,
    clear_mappers,
    create_session,
    event,
    inspect,
    mapper,
    scoped_session,
    sessionmaker,
)
from datamapper.exc import ArgumentError


@pytest.fixture(autouse=True)
def _quiet_deprecations():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


class Recorder(SessionExtension):
    """Records (hook name, arguments) of every session hook."""

    def __init__(self, log=None, tag=None):
        self.log = [] if log is None else log
        self.tag = tag

    def _rec(self, name, *args):
        self.log.append((name, *args) if self.tag is None else (self.tag, name, *args))

    def before_commit(self, session):
        self._rec("before_commit", session)

    def after_commit(self, session):
        self._rec("after_commit", session)

    def after_rollback(self, session):
        self._rec("after_rollback", session)

    def before_flush(self, session, flush_context, instances):
        self._rec("before_flush", session, instances)

    def after_flush(self, session, flush_context):
        self._rec("after_flush", session, sorted(o.name for o in session.new))

    def after_flush_postexec(self, session, flush_context):
        self._rec("after_flush_postexec", session, sorted(o.name for o in session.new))

    def after_begin(self, session, transaction, connection):
        self._rec("after_begin", session, transaction, connection)

    def after_attach(self, session, instance):
        self._rec("after_attach", session, instance)

    def after_bulk_update(self, session, query, query_context, result):
        self._rec("after_bulk_update", session, query, result.rowcount)

    def after_bulk_delete(self, session, query, query_context, result):
        self._rec("after_bulk_delete", session, query, result.rowcount)


def names(log):
    return [entry[0] for entry in log]


# -- SessionExtension --------------------------------------------------------------------------
def test_session_hooks_fire_in_order_with_their_arguments(User, make_session, read_rows):
    ext = Recorder()
    s = make_session(extension=ext)
    u = User(id=1, name="ed")
    s.add(u)
    s.commit()
    assert names(ext.log) == [
        "after_attach", "before_commit", "before_flush", "after_begin", "after_flush",
        "after_flush_postexec", "after_commit",
    ]
    by_name = {e[0]: e[1:] for e in ext.log}
    assert all(args[0] is s for args in by_name.values())
    assert by_name["after_attach"][1] is u
    assert by_name["before_flush"][1] is None  # commit() flushes everything
    # after_flush still sees the flushed objects as new; postexec sees the bookkeeping done
    assert by_name["after_flush"][1] == ["ed"]
    assert by_name["after_flush_postexec"][1] == []
    _, transaction, connection = by_name["after_begin"]
    assert transaction is not None
    assert isinstance(connection, Connection)
    assert read_rows(User.__table__) == [(1, "ed", None)]


def test_before_commit_runs_before_the_commit_flush_and_can_add_objects(User, make_session,
                                                                         read_rows):
    class AddOnCommit(SessionExtension):
        def before_commit(self, session):
            session.add(User(id=99, name="added in before_commit"))

    s = make_session(extension=AddOnCommit())
    s.add(User(id=1, name="ed"))
    s.commit()
    assert read_rows(User.__table__) == [(1, "ed", None), (99, "added in before_commit", None)]


def test_before_flush_receives_the_objects_given_to_flush(User, make_session):
    ext = Recorder()
    s = make_session(extension=ext)
    u = User(id=1, name="ed")
    s.add(u)
    s.flush([u])
    assert [e for e in ext.log if e[0] == "before_flush"] == [("before_flush", s, [u])]


def test_after_rollback_fires_after_the_database_rolled_back(User, make_session, read_rows):
    seen = []

    class Ext(SessionExtension):
        def after_rollback(self, session):
            seen.append((session, read_rows(User.__table__)))

    s = make_session(extension=Ext())
    s.add(User(id=1, name="ed"))
    s.flush()
    s.rollback()
    assert seen == [(s, [])]


def test_bulk_hooks_get_session_query_context_and_result(User, make_session):
    ext = Recorder()
    s = make_session(extension=ext)
    s.add_all([User(id=1, name="ed"), User(id=2, name="wendy")])
    s.flush()
    del ext.log[:]
    q = s.query(User).filter(User.id == 1)
    assert q.update({"note": "x"}, synchronize_session="evaluate") == 1
    q2 = s.query(User)
    assert q2.delete(synchronize_session="evaluate") == 2
    assert ext.log == [("after_bulk_update", s, q, 1), ("after_bulk_delete", s, q2, 2)]


def test_only_overridden_methods_become_listeners(User, make_session):
    class OnlyCommit(SessionExtension):
        def before_commit(self, session):
            pass

    s = make_session(extension=OnlyCommit())
    assert "before_commit" in s.dispatch.active
    assert "after_commit" not in s.dispatch.active
    assert "before_flush" not in s.dispatch.active


def test_an_instance_attribute_override_counts_too(User, make_session):
    calls = []
    ext = SessionExtension()
    ext.after_commit = lambda session: calls.append(session)
    s = make_session(extension=ext)
    s.commit()
    assert calls == [s]


def test_list_of_session_extensions_fire_in_list_order(User, make_session):
    log = []
    s = make_session(extension=[Recorder(log, "a"), Recorder(log, "b")])
    s.add(User(id=1, name="ed"))
    s.commit()
    commit_entries = [e[:2] for e in log if e[1] in ("before_commit", "after_commit")]
    assert commit_entries == [("a", "before_commit"), ("b", "before_commit"),
                              ("a", "after_commit"), ("b", "after_commit")]


def test_session_extension_return_values_do_not_stop_the_others(User, make_session):
    log = []

    class Stopper(SessionExtension):
        def before_commit(self, session):
            log.append("stopper")
            return EXT_STOP

    s = make_session(extension=[Stopper(), Recorder(log)])
    s.commit()
    assert log[:2] == ["stopper", ("before_commit", s)]


def test_sessionmaker_extension_applies_to_every_session_made(User, engine):
    ext = Recorder()
    maker = sessionmaker(bind=engine, extension=ext)
    s1, s2 = maker(), maker()
    try:
        s1.commit()
        s2.commit()
        assert [e[:2] for e in ext.log if e[0] == "after_commit"] == [
            ("after_commit", s1), ("after_commit", s2)]
    finally:
        s1.close()
        s2.close()


def test_sessionmaker_configure_and_call_time_extension(User, engine):
    first, second, local = Recorder(), Recorder(), Recorder()
    maker = sessionmaker(bind=engine, extension=first)
    maker.configure(extension=second)
    s1 = maker()
    s2 = maker(extension=local)  # the call's keyword replaces the configured one
    try:
        s1.commit()
        s2.commit()
        assert first.log == []
        assert names(second.log) == ["before_commit", "after_commit"]
        assert [e[1] for e in second.log] == [s1, s1]
        assert [e[1] for e in local.log] == [s2, s2]
    finally:
        s1.close()
        s2.close()


def test_create_session_and_scoped_session_take_extensions(User, engine, read_rows):
    ext = Recorder()
    s = create_session(bind=engine, extension=ext)
    try:
        s.add(User(id=1, name="ed"))
        s.flush()  # autocommit session: its own transaction
        assert "after_flush" in names(ext.log) and "after_begin" in names(ext.log)
        assert read_rows(User.__table__) == [(1, "ed", None)]
    finally:
        s.close()
    ext2 = Recorder()
    scoped = scoped_session(sessionmaker(bind=engine, extension=ext2))
    try:
        scoped.add(User(id=2, name="wendy"))
        scoped.commit()
        assert names(ext2.log)[-1] == "after_commit"
        assert ext2.log[-1][1] is scoped()
    finally:
        scoped.remove()


def test_one_extension_instance_serves_several_sessions(User, make_session):
    ext = Recorder()
    s1, s2 = make_session(extension=ext), make_session(extension=ext)
    s2.commit()
    s1.commit()
    assert [e[1] for e in ext.log if e[0] == "before_commit"] == [s2, s1]


def test_session_extension_warns_naming_the_event_at_the_callers_line(User, engine):
    class Ext(SessionExtension):
        def after_commit(self, session):
            pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = Session(bind=engine, extension=Ext())
    s.close()
    (w,) = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert "SessionExtension is deprecated" in str(w.message)
    assert "'after_commit'" in str(w.message)
    assert w.filename == __file__


def test_non_extension_objects_are_refused_with_a_clear_error(engine):
    class Plain:
        def before_commit(self, session):
            pass

    with pytest.raises(ArgumentError, match=r"subclass datamapper\.SessionExtension"):
        sessionmaker(bind=engine, extension=Plain())
    with pytest.raises(ArgumentError, match=r"subclass datamapper\.SessionExtension"):
        create_session(bind=engine, extension=[Plain()])
    with pytest.raises(ArgumentError, match=r"not a SessionExtension"):
        Session(bind=engine, extension=MapperExtension())


# -- MapperExtension ---------------------------------------------------------------------------
class MapperRecorder(MapperExtension):
    def __init__(self, log, tag=None):
        self.log = log
        self.tag = tag

    def _rec(self, *entry):
        self.log.append(entry if self.tag is None else (self.tag, *entry))
        return EXT_CONTINUE

    def before_insert(self, mapper, connection, instance):
        return self._rec("before_insert", mapper, connection, instance)

    def after_insert(self, mapper, connection, instance):
        return self._rec("after_insert", mapper, connection, instance)

    def before_update(self, mapper, connection, instance):
        return self._rec("before_update", mapper, connection, instance)

    def after_update(self, mapper, connection, instance):
        return self._rec("after_update", mapper, connection, instance)

    def before_delete(self, mapper, connection, instance):
        return self._rec("before_delete", mapper, connection, instance)

    def after_delete(self, mapper, connection, instance):
        return self._rec("after_delete", mapper, connection, instance)


@pytest.fixture
def users_table(metadata, engine):
    t = Table("users", metadata, Column("id", Integer, primary_key=True),
              Column("name", String(50)), Column("note", String(50)))
    metadata.create_all(engine)
    return t


@pytest.fixture
def classical():
    """Unmaps the classes mapped with the legacy mapper() function after the test."""
    yield
    clear_mappers()


def _declarative_user(metadata, engine, ext):
    Base = datamapper.declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        __mapper_args__ = {"extension": ext}
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        note = Column(String(50))

    metadata.create_all(engine)
    return User


def test_persistence_hooks_via_mapper_args(metadata, engine, make_session, read_rows):
    log = []
    User = _declarative_user(metadata, engine, MapperRecorder(log))
    m = inspect(User)
    s = make_session()
    u = User(id=1, name="ed")
    s.add(u)
    seen_rows = []

    @event.listens_for(m, "before_insert")
    def look(mapper, connection, target):
        seen_rows.append(connection.execute(select(User.__table__.c.id)).all())

    s.flush()
    assert [e[0] for e in log] == ["before_insert", "after_insert"]
    assert all(e[1] is m and e[3] is u for e in log)
    conn = log[0][2]
    assert conn is log[1][2] and hasattr(conn, "execute")
    assert seen_rows == [[]]  # the row did not exist yet when before_insert ran
    u.name = "ed2"
    s.flush()
    s.delete(u)
    s.commit()
    assert [e[0] for e in log] == ["before_insert", "after_insert", "before_update",
                                   "after_update", "before_delete", "after_delete"]
    assert read_rows(User.__table__) == []


def test_before_insert_sees_the_connection_before_the_row_exists(metadata, engine,
                                                                 make_session):
    counts = []

    class Count(MapperExtension):
        def before_insert(self, mapper, connection, instance):
            counts.append((instance.id, connection.scalar(
                text("SELECT count(*) FROM users WHERE id = :i"), {"i": instance.id})))

        def after_insert(self, mapper, connection, instance):
            counts.append((instance.id, connection.scalar(
                text("SELECT count(*) FROM users WHERE id = :i"), {"i": instance.id})))

    User = _declarative_user(metadata, engine, Count())
    s = make_session()
    s.add(User(id=7, name="ed"))
    s.commit()
    assert counts == [(7, 0), (7, 1)]


def test_before_update_change_is_written_in_the_same_update(metadata, engine, make_session,
                                                            sql_log, read_rows):
    class Stamp(MapperExtension):
        def before_insert(self, mapper, connection, instance):
            instance.note = "created"

        def before_update(self, mapper, connection, instance):
            instance.note = "changed " + instance.name

    User = _declarative_user(metadata, engine, Stamp())
    s = make_session()
    u = User(id=1, name="ed")
    s.add(u)
    s.flush()
    assert u.note == "created"
    s.commit()
    assert read_rows(User.__table__) == [(1, "ed", "created")]
    sql_log.clear()
    u.name = "jack"
    s.commit()
    updates = sql_log.matching("UPDATE")
    assert len(updates) == 1
    assert "note" in updates[0].lower()
    assert read_rows(User.__table__) == [(1, "jack", "changed jack")]


def test_classical_mapper_function_takes_an_extension(users_table, classical, make_session,
                                                      read_rows):
    log = []

    class U:
        pass

    m = mapper(U, users_table, extension=MapperRecorder(log))
    assert m.extensions and isinstance(m.extensions[0], MapperRecorder)
    s = make_session()
    u = U()
    u.id, u.name = 1, "ed"
    s.add(u)
    s.commit()
    assert [e[0] for e in log] == ["before_insert", "after_insert"]
    assert log[0][1] is m and log[0][3] is u
    assert read_rows(users_table) == [(1, "ed", None)]


def test_several_mapper_extensions_run_in_list_order(users_table, classical, make_session):
    log = []

    class U:
        pass

    mapper(U, users_table, extension=[MapperRecorder(log, "a"), MapperRecorder(log, "b")])
    s = make_session()
    u = U()
    u.id = 1
    s.add(u)
    s.flush()
    assert [e[:2] for e in log] == [("a", "before_insert"), ("b", "before_insert"),
                                    ("a", "after_insert"), ("b", "after_insert")]


def test_ext_stop_ends_the_chain_for_that_call_only(users_table, classical, make_session):
    log = []

    class StopInserts(MapperExtension):
        def before_insert(self, mapper, connection, instance):
            log.append(("stop", "before_insert"))
            return EXT_STOP

        def after_insert(self, mapper, connection, instance):
            log.append(("stop", "after_insert"))
            return EXT_CONTINUE

    class Nothing(MapperExtension):
        def before_insert(self, mapper, connection, instance):
            log.append(("none", "before_insert"))  # returns None: the chain goes on

    class U:
        pass

    mapper(U, users_table, extension=[Nothing(), StopInserts(), MapperRecorder(log, "rec")])
    s = make_session()
    u = U()
    u.id = 1
    s.add(u)
    s.flush()
    assert [e[:2] for e in log] == [
        ("none", "before_insert"), ("stop", "before_insert"),  # "rec" was cut off
        ("stop", "after_insert"), ("rec", "after_insert"),
    ]
    # the row is written all the same: EXT_STOP only stops the other extensions
    assert s.execute(text("SELECT id FROM users")).scalars().all() == [1]


def test_ext_stop_does_not_stop_event_listeners(metadata, engine, make_session):
    log = []

    class Stop(MapperExtension):
        def before_insert(self, mapper, connection, instance):
            log.append("ext")
            return EXT_STOP

    User = _declarative_user(metadata, engine, Stop())
    event.listen(User, "before_insert", lambda m, c, t: log.append("listener"))
    s = make_session()
    s.add(User(id=1))
    s.flush()
    assert log == ["ext", "listener"]


def test_instance_hooks_init_and_reconstruct(metadata, engine, make_session):
    log = []

    class Hooks(MapperExtension):
        def init_instance(self, mapper, class_, oldinit, instance, args, kwargs):
            log.append(("init_instance", mapper, class_, oldinit, args, kwargs,
                        dict(instance.__dict__).get("name")))

        def init_failed(self, mapper, class_, oldinit, instance, args, kwargs):
            log.append(("init_failed", class_, kwargs))

        def reconstruct_instance(self, mapper, instance):
            log.append(("reconstruct_instance", mapper, instance.name))

        def instrument_class(self, mapper, class_):
            log.append(("instrument_class", mapper, class_))

    User = _declarative_user(metadata, engine, Hooks())
    m = inspect(User)
    assert log == [("instrument_class", m, User)]
    del log[:]
    u = User(id=1, name="ed")
    (name, mapper_, class_, oldinit, args, kwargs, name_then) = log[0]
    assert (name, mapper_, class_, args, kwargs) == (
        "init_instance", m, User, (), {"id": 1, "name": "ed"})
    assert name_then is None  # called before the constructor ran
    assert callable(oldinit) and oldinit is not User.__init__
    with pytest.raises(TypeError):
        User(nonexistent=1)
    assert log[-1] == ("init_failed", User, {"nonexistent": 1})
    s = make_session()
    s.add(u)
    s.commit()
    s.close()
    del log[:]
    s2 = make_session()
    loaded = s2.query(User).one()
    assert loaded.name == "ed"
    assert log == [("reconstruct_instance", m, "ed")]


def test_init_instance_gets_the_classes_own_init(users_table, classical):
    log = []

    class Ext(MapperExtension):
        def init_instance(self, mapper, class_, oldinit, instance, args, kwargs):
            log.append(oldinit)

    class U:
        def __init__(self, name):
            self.name = name

    own_init = U.__init__
    mapper(U, users_table, extension=Ext())
    u = U("ed")
    assert log == [own_init] and u.name == "ed"


def test_only_overridden_mapper_hooks_listen(users_table, classical):
    class OnlyUpdate(MapperExtension):
        def before_update(self, mapper, connection, instance):
            pass

    class U:
        pass

    m = mapper(U, users_table, extension=OnlyUpdate())
    assert "before_update" in m.dispatch.active
    for name in ("before_insert", "after_insert", "after_update", "init", "load"):
        assert name not in m.dispatch.active


def test_unsupported_row_hooks_are_refused(users_table, classical):
    class Old(MapperExtension):
        def populate_instance(self, mapper, selectcontext, row, instance, **flags):
            return EXT_CONTINUE

    class U:
        pass

    with pytest.raises(ArgumentError, match=r"populate_instance.*'load'"):
        mapper(U, users_table, extension=Old())


def test_wrong_kind_or_plain_object_on_a_mapper_is_refused(users_table, classical):
    class Plain:
        def before_insert(self, mapper, connection, instance):
            pass

    class U:
        pass

    class V:
        pass

    with pytest.raises(ArgumentError, match=r"Plain.*subclass datamapper\.MapperExtension"):
        mapper(U, users_table, extension=Plain())
    with pytest.raises(ArgumentError, match=r"not a MapperExtension"):
        mapper(V, users_table, extension=SessionExtension())


def test_mapper_extension_warns_naming_the_event(users_table, classical):
    class Ext(MapperExtension):
        def after_update(self, mapper, connection, instance):
            pass

    class U:
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mapper(U, users_table, extension=Ext())
    (w,) = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert "MapperExtension is deprecated" in str(w.message)
    assert "listen(U, 'after_update'" in str(w.message)
    assert w.filename == __file__


def test_ext_symbols_are_distinct_and_readable():
    assert EXT_CONTINUE is not EXT_STOP
    assert repr(EXT_CONTINUE) == "EXT_CONTINUE" and repr(EXT_STOP) == "EXT_STOP"
    assert MapperExtension().before_insert(None, None, None) is EXT_CONTINUE
    assert datamapper.legacy.__all__ == ["EXT_CONTINUE", "EXT_STOP", "MapperExtension",
                                         "SessionExtension"]


def test_extension_on_a_second_metadata_mapper_is_per_mapper(engine, classical, make_session):
    """One MapperExtension instance on two mappers: each mapper passes itself."""
    md = MetaData()
    a = Table("ext_a", md, Column("id", Integer, primary_key=True))
    b = Table("ext_b", md, Column("id", Integer, primary_key=True))
    md.create_all(engine)
    try:
        log = []
        ext = MapperRecorder(log)

        class A:
            pass

        class B:
            pass

        ma = mapper(A, a, extension=ext)
        mb = mapper(B, b, extension=ext)
        s = make_session()
        x, y = A(), B()
        x.id = y.id = 1
        s.add_all([x, y])
        s.commit()
        s.close()
        inserted = {(e[1], type(e[3])) for e in log if e[0] == "before_insert"}
        assert inserted == {(ma, A), (mb, B)}
    finally:
        md.drop_all(engine)


def test_session_refuses_an_extension_that_is_not_a_session_extension(engine):
    class NotAnExtension:
        def before_commit(self, session):
            pass

    with pytest.raises(ArgumentError, match="SessionExtension"):
        Session(engine, extension=NotAnExtension())
    with pytest.raises(ArgumentError, match="SessionExtension"):
        Session(engine, extension=[NotAnExtension()])
