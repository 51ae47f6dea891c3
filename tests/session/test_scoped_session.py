"""scoped_session: one Session per scope (thread by default, or a custom scopefunc),
remove(), configure(), query_property(), the registries, and the Session methods and
properties proxied at class level."""

import threading
import warnings

import pytest

import datamapper
from datamapper import Query, Session, scoped_session, sessionmaker
from datamapper.exc import InvalidRequestError
from datamapper.scoping import ScopedRegistry, ThreadLocalRegistry


@pytest.fixture
def Scoped(engine):
    scoped = scoped_session(sessionmaker(bind=engine))
    yield scoped
    scoped.remove()


# -- the registry pattern ----------------------------------------------------------------------
def test_scoped_session_is_exported_with_its_registries():
    assert datamapper.scoped_session is scoped_session
    assert datamapper.ScopedRegistry is ScopedRegistry
    assert datamapper.ThreadLocalRegistry is ThreadLocalRegistry
    assert {"scoped_session", "ScopedRegistry", "ThreadLocalRegistry"} <= set(datamapper.__all__)


def test_calls_in_one_thread_return_the_same_session(Scoped, engine):
    assert not Scoped.has()
    s1 = Scoped()
    assert isinstance(s1, Session) and s1.bind is engine
    assert Scoped() is s1
    assert Scoped.has()
    assert isinstance(Scoped.registry, ThreadLocalRegistry)


def test_each_thread_gets_its_own_session(Scoped):
    mine = Scoped()
    seen = []

    def work():
        seen.append(Scoped())
        seen.append(Scoped())
        Scoped.remove()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen[0] is seen[1]
    assert seen[0] is not mine
    assert Scoped() is mine  # the other thread's remove() left this thread's session alone


def test_remove_closes_session_rolling_back_and_next_call_makes_a_new_one(
        Scoped, User, read_rows):
    s1 = Scoped()
    u = User(id=1, name="ed")
    s1.add(u)
    s1.flush()
    Scoped.remove()
    assert not Scoped.has()
    assert u not in s1  # closed: expunged
    assert read_rows(User.__table__) == []  # the flushed INSERT was rolled back
    s2 = Scoped()
    assert s2 is not s1


def test_remove_without_a_session_does_nothing(Scoped):
    Scoped.remove()
    assert not Scoped.has()


def test_call_with_arguments_creates_session_with_them(Scoped):
    s = Scoped(autoflush=False, info={"k": 1})
    assert s.autoflush is False and s.info == {"k": 1}
    assert Scoped() is s


def test_call_with_arguments_when_a_session_exists_raises(Scoped):
    Scoped()
    with pytest.raises(InvalidRequestError, match="already has a Session.*remove"):
        Scoped(autoflush=False)


def test_custom_scopefunc_keys_sessions_by_its_token(engine):
    current = ["request-1"]
    Scoped = scoped_session(sessionmaker(bind=engine), scopefunc=lambda: current[0])
    try:
        s1 = Scoped()
        current[0] = "request-2"
        s2 = Scoped()
        assert s2 is not s1
        Scoped.remove()
        current[0] = "request-1"
        assert Scoped() is s1
        assert isinstance(Scoped.registry, ScopedRegistry)
        assert list(Scoped.registry.registry) == ["request-1"]
    finally:
        Scoped.remove()


def test_configure_changes_sessions_made_afterwards(Scoped):
    Scoped.configure(autoflush=False)
    assert Scoped().autoflush is False


def test_configure_warns_when_a_session_already_exists(Scoped):
    first = Scoped()
    with pytest.warns(UserWarning, match="already has a Session"):
        Scoped.configure(expire_on_commit=False)
    assert Scoped().expire_on_commit is True  # the existing one keeps its settings
    assert first is Scoped()
    Scoped.remove()
    assert Scoped().expire_on_commit is False


def test_configure_without_a_session_does_not_warn(Scoped):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Scoped.configure(autoflush=False)


# -- proxies ---------------------------------------------------------------------------------
PROXIED_METHODS = [
    "add", "add_all", "delete", "merge", "flush", "commit", "rollback", "close", "expunge",
    "expunge_all", "query", "get", "refresh", "expire", "expire_all", "execute", "scalar",
    "scalars", "begin", "begin_nested", "is_modified", "connection", "get_bind", "prepare",
    "bind_mapper", "bind_table", "in_transaction", "in_nested_transaction",
    "save", "update", "save_or_update", "clear", "load", "create_transaction", "merge_all",
    "clear_all", "prune",
    "close_all", "object_session", "identity_key",
]
PROXIED_PROPERTIES = [
    "no_autoflush", "new", "dirty", "deleted", "identity_map", "is_active", "autoflush",
    "info", "bind", "autocommit", "expire_on_commit", "twophase", "transaction",
]


@pytest.mark.parametrize("name", PROXIED_METHODS)
def test_session_method_is_proxied_at_class_level(name):
    assert callable(scoped_session.__dict__[name])
    assert hasattr(Session, name)


@pytest.mark.parametrize("name", PROXIED_PROPERTIES)
def test_session_property_is_proxied_at_class_level(name):
    assert isinstance(scoped_session.__dict__[name], property)


def test_every_public_session_method_and_property_is_proxied():
    """Nothing public on Session is missing from scoped_session (what SQLAlchemy leaves out
    on purpose, the transaction internals and binding helpers, aside)."""
    not_proxied = {"connection_callable", "dispatch", "bind_mapper", "bind_table",
                   "enable_relationship_loading", "get_nested_transaction",
                   "get_transaction", "in_nested_transaction", "in_transaction",
                   "invalidate", "prepare", "transaction"}
    public = {name for cls in Session.mro() for name in vars(cls) if not name.startswith("_")}
    assert sorted(n for n in public - not_proxied if not hasattr(scoped_session, n)) == []


def test_proxied_calls_use_the_current_session_and_reach_the_database(Scoped, User, read_rows):
    u1, u2 = User(id=1, name="a"), User(id=2, name="b")
    Scoped.add(u1)
    Scoped.add_all([u2])
    assert u1 in Scoped and u1 in Scoped.new and u2 in Scoped()
    Scoped.commit()
    assert read_rows(User.__table__) == [(1, "a", None), (2, "b", None)]
    assert Scoped.get(User, 1) is u1
    assert [u.id for u in Scoped.query(User).order_by(User.id)] == [1, 2]
    assert Scoped.scalar("SELECT count(*) FROM users") == 2
    u1.name = "changed"
    assert u1 in Scoped.dirty and Scoped.is_modified(u1)
    Scoped.delete(u2)
    assert u2 in Scoped.deleted
    Scoped.flush()
    Scoped.rollback()
    assert Scoped.object_session(u1) is Scoped()
    assert Scoped.identity_key(User, 1) == (User, (1,), None)
    assert set(Scoped.identity_map.keys()) == {(User, (1,), None), (User, (2,), None)}
    assert sorted(o.id for o in Scoped) == [1, 2]


def test_proxied_merge_copies_into_the_current_session(Scoped, User, read_rows):
    merged = Scoped.merge(User(id=5, name="m"))
    assert merged in Scoped()
    m6, m7 = Scoped.merge_all([User(id=6, name="six"), User(id=7, name="seven")])
    assert m6 in Scoped() and m7 in Scoped()
    Scoped.commit()
    assert read_rows(User.__table__) == [(5, "m", None), (6, "six", None), (7, "seven", None)]


def test_proxied_settings_can_be_read_and_set(Scoped, engine):
    assert Scoped.bind is engine
    assert Scoped.autoflush is True and Scoped.is_active
    Scoped.autoflush = False
    assert Scoped().autoflush is False
    Scoped.info["k"] = "v"
    assert Scoped().info == {"k": "v"}


def test_proxied_no_autoflush_suspends_autoflush(Scoped, User, sql_log):
    Scoped.add(User(id=1, name="a"))
    with Scoped.no_autoflush:
        Scoped.query(User).all()
    assert sql_log.matching("INSERT") == []


def test_proxied_begin_is_a_usable_context_manager(Scoped, User, read_rows):
    with Scoped.begin():
        Scoped.add(User(id=1, name="a"))
    assert read_rows(User.__table__) == [(1, "a", None)]


def test_legacy_save_through_scoped_session_as_in_the_04_document(Scoped, User, read_rows):
    u = User(id=1, name="u1")
    with pytest.deprecated_call():
        Scoped.save(u)
    assert u in Scoped.new
    Scoped.commit()
    assert read_rows(User.__table__) == [(1, "u1", None)]


# -- query_property --------------------------------------------------------------------------
def test_query_property_queries_the_class_in_the_current_session(Scoped, User, Base):
    User.query = Scoped.query_property()
    Scoped.add_all([User(id=1, name="a"), User(id=2, name="b")])
    Scoped.commit()
    q = User.query
    assert isinstance(q, Query) and q.session is Scoped()
    assert [u.name for u in User.query.filter(User.id == 2)] == ["b"]


def test_query_property_with_custom_query_class(Scoped, User):
    made = []

    class MyQuery(Query):
        def __init__(self, entities, session=None):
            made.append((entities, session))
            super().__init__(entities, session)

    User.query = Scoped.query_property(MyQuery)
    assert isinstance(User.query, MyQuery)
    mapper, session = made[0]
    assert mapper.class_ is User and session is Scoped()


def test_query_property_on_an_unmapped_class_is_none(Scoped):
    class Plain:
        query = Scoped.query_property()

    assert Plain.query is None


# -- the registries on their own -----------------------------------------------------------
def test_scoped_registry_creates_once_per_scope_and_clears():
    token = ["a"]
    made = []
    reg = ScopedRegistry(lambda: made.append(object()) or made[-1], lambda: token[0])
    assert not reg.has()
    first = reg()
    assert reg() is first and reg.has() and len(made) == 1
    token[0] = "b"
    assert not reg.has()
    reg.set("given")
    assert reg() == "given"
    reg.clear()
    assert not reg.has()
    token[0] = "a"
    assert reg() is first


def test_thread_local_registry_keeps_one_object_per_thread():
    reg = ThreadLocalRegistry(object)
    mine = reg()
    other = []
    t = threading.Thread(target=lambda: other.append((reg.has(), reg())))
    t.start()
    t.join()
    assert other[0][0] is False and other[0][1] is not mine
    assert reg() is mine
    reg.clear()
    assert not reg.has()
    reg.clear()  # clearing an empty scope is fine
