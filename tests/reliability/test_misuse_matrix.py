"""Misuse matrix: every misuse a Session must refuse, table-driven.

Each case asserts

- the named exception class;
- a message naming the object or class (and attribute) and the fix: a distinctive
  fragment of it is checked;
- the session unchanged: identity keys, new / dirty / deleted, and the loaded
  values of the objects the session holds;
- no SQL sent, for what is refused on the client (``sql_log`` count unchanged).

Part one gives an unmapped object and an unmapped class to every public method of
``Session``, ``scoped_session`` and ``Query``, enumerated by introspection: a new
public method without a case here (or an entry in ``TAKES_NO_OBJECT`` with the
reason) fails ``test_every_public_method_has_a_case``.  Part two lists the other
misuses.  ``test_checks_catch_*`` show each check fails on a deliberately broken
session (it swallows the error; it changes state before refusing; it sends SQL
before refusing; its message names nothing).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Text, text

from datamapper import (
    Query,
    Session,
    declarative_base,
    event,
    exc,
    relationship,
    scoped_session,
    select,
    sessionmaker,
)
from datamapper.attributes import flag_modified
from datamapper.instance.state import instance_state


class Plain:
    """Not mapped."""


@dataclass
class World:
    session: Any
    User: Any
    Address: Any
    held: list[Any]
    make_session: Callable[..., Any]


@pytest.fixture
def world(engine, metadata, make_session):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "mm_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        bio = Column(Text)
        addresses = relationship("Address", backref="user", order_by="Address.id")
        tags = relationship("Tag")  # no backref: another mapped class is taken at once

    class Address(Base):
        __tablename__ = "mm_addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("mm_users.id"))
        email = Column(String(30))

    class Tag(Base):
        __tablename__ = "mm_tags"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("mm_users.id"))

    metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="u1", addresses=[Address(id=1, email="a1")]),
               User(id=2, name="u2")])
    s.commit()
    u1 = s.get(User, 1)
    u2 = s.get(User, 2)
    u1.addresses  # loaded
    u1.name = "u1-changed"  # dirty
    u3 = User(id=3, name="u3")
    s.add(u3)  # pending
    return World(s, User, Address, [u1, u2, u3, u1.addresses[0]], make_session)


def snapshot(w: World) -> Any:
    s = w.session
    held = []
    for obj in w.held:
        d = {k: (list(v) if isinstance(v, list) else v) for k, v in vars(obj).items()
             if not k.startswith("_")}
        st = instance_state(obj)
        held.append((sorted(d.items(), key=lambda kv: kv[0]), st.key, st.session_id,
                     sorted(st.committed_state)))
    return (
        sorted(map(repr, s.identity_map.keys())),
        sorted(map(id, s.new)),
        sorted(map(id, s.dirty)),
        sorted(map(id, s.deleted)),
        held,
    )


def assert_refused(w: World, sql_log: Any, call: Callable[[], Any],
                   error: type[BaseException], fragments: tuple[str, ...],
                   client_side: bool = True) -> BaseException:
    """The matrix check: ``call()`` raises ``error`` whose message holds every
    fragment; the session is unchanged and (client side) no SQL was sent."""
    before = snapshot(w)
    sent = sql_log.count
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(error) as info:
            call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in the message: {message}"
    if client_side:
        assert sql_log.count == sent, f"SQL was sent: {sql_log.statements[sent:]}"
    assert snapshot(w) == before, "the refused call changed the session"
    return info.value


# ---------------------------------------------------------- part one: unmapped input

OBJ, CLS = "object", "class"

# name -> call(target, x) and, for each kind of x, (exception, message fragments)
_UNMAPPED = (exc.UnmappedInstanceError, ("Plain", "not mapped", "map it with"))
_CLASS_AS_OBJECT = (exc.UnmappedInstanceError, ("the class Plain", "pass a Plain object"))
_UNMAPPED_CLASS = (exc.UnmappedClassError, ("'Plain' is not mapped", "map it with"))
_OBJECT_AS_CLASS = (exc.UnmappedClassError, ("Plain object", "pass a mapped class"))
_NOT_EXECUTABLE = {
    OBJ: (exc.ArgumentError, ("Can't execute <Plain", "pass select(")),
    CLS: (exc.ArgumentError, ("Can't execute the class Plain", "pass select(")),
}
_INSTANCE_TAKERS = {OBJ: _UNMAPPED, CLS: _CLASS_AS_OBJECT}
_CLASS_TAKERS = {OBJ: _OBJECT_AS_CLASS, CLS: _UNMAPPED_CLASS}


def _not_sql(verb: str, fix: str) -> dict[str, tuple[type[BaseException], tuple[str, ...]]]:
    return {OBJ: (exc.ArgumentError, (f"Can't {verb} <Plain", "not a SQL expression", fix)),
            CLS: (exc.UnmappedClassError, (f"Can't {verb} class Plain", "not mapped", fix))}


SESSION_CASES: dict[str, tuple[Callable[[Any, Any], Any], dict[str, Any]]] = {
    "add": (lambda s, x: s.add(x), _INSTANCE_TAKERS),
    "add_all": (lambda s, x: s.add_all([x]), _INSTANCE_TAKERS),
    "delete": (lambda s, x: s.delete(x), _INSTANCE_TAKERS),
    "expunge": (lambda s, x: s.expunge(x), _INSTANCE_TAKERS),
    "expire": (lambda s, x: s.expire(x), _INSTANCE_TAKERS),
    "refresh": (lambda s, x: s.refresh(x), _INSTANCE_TAKERS),
    "merge": (lambda s, x: s.merge(x), _INSTANCE_TAKERS),
    "merge_all": (lambda s, x: s.merge_all([x]), _INSTANCE_TAKERS),
    "delete_all": (lambda s, x: s.delete_all([x]), _INSTANCE_TAKERS),
    "is_modified": (lambda s, x: s.is_modified(x), _INSTANCE_TAKERS),
    "enable_relationship_loading": (lambda s, x: s.enable_relationship_loading(x),
                                    _INSTANCE_TAKERS),
    "flush": (lambda s, x: s.flush([x]), _INSTANCE_TAKERS),
    "save": (lambda s, x: s.save(x), _INSTANCE_TAKERS),
    "update": (lambda s, x: s.update(x), _INSTANCE_TAKERS),
    "save_or_update": (lambda s, x: s.save_or_update(x), _INSTANCE_TAKERS),
    "object_session": (lambda s, x: s.object_session(x), _INSTANCE_TAKERS),
    "get": (lambda s, x: s.get(x, 1), _CLASS_TAKERS),
    "get_one": (lambda s, x: s.get_one(x, 1), _CLASS_TAKERS),
    "bulk_insert_mappings": (lambda s, x: s.bulk_insert_mappings(x, [{}]), _CLASS_TAKERS),
    "bulk_update_mappings": (lambda s, x: s.bulk_update_mappings(x, [{}]), _CLASS_TAKERS),
    "bulk_save_objects": (lambda s, x: s.bulk_save_objects([x]), _INSTANCE_TAKERS),
    "load": (lambda s, x: s.load(x, 1), _CLASS_TAKERS),
    "identity_key": (lambda s, x: s.identity_key(x, 1), _CLASS_TAKERS),
    "get_bind": (lambda s, x: s.get_bind(x), {
        OBJ: (exc.UnmappedClassError, ("Can't find a bind for <Plain", "pass a mapped class")),
        CLS: (exc.UnmappedClassError, ("Can't find a bind for class Plain", "map it with"))}),
    "connection": (lambda s, x: s.connection(mapper=x), {
        OBJ: (exc.UnmappedClassError, ("Can't find a bind for <Plain", "pass a mapped class")),
        CLS: (exc.UnmappedClassError, ("Can't find a bind for class Plain", "map it with"))}),
    "bind_mapper": (lambda s, x: s.bind_mapper(x, None), {
        # a class is accepted: an unmapped base class binds its mapped subclasses
        OBJ: (exc.ArgumentError, ("Can't bind <", "pass a mapped class"))}),
    "bind_table": (lambda s, x: s.bind_table(x, None), {
        OBJ: (exc.ArgumentError, ("Can't bind_table(<", "pass a Table")),
        CLS: (exc.ArgumentError, ("Plain", "pass a Table"))}),
    "execute": (lambda s, x: s.execute(x), _NOT_EXECUTABLE),
    "scalar": (lambda s, x: s.scalar(x), _NOT_EXECUTABLE),
    "scalars": (lambda s, x: s.scalars(x), _NOT_EXECUTABLE),
    "query": (lambda s, x: s.query(x), {
        OBJ: (exc.ArgumentError, ("Can't query <", "Plain object", "expected a mapped class")),
        CLS: (exc.ArgumentError, ("Can't query <class", "Plain", "expected a mapped class"))}),
}

# Methods that take no object or class, and why.
SESSION_TAKES_NO_OBJECT = {
    "begin": "takes flags only", "begin_nested": "takes nothing",
    "commit": "takes nothing", "rollback": "takes nothing", "prepare": "takes nothing",
    "close": "takes nothing", "reset": "takes nothing", "invalidate": "takes nothing",
    "close_all": "takes nothing", "expire_all": "takes nothing",
    "expunge_all": "takes nothing", "clear": "takes nothing (0.4 expunge_all)",
    "clear_all": "takes nothing (0.3 expunge_all)", "prune": "takes nothing",
    "create_transaction": "takes nothing (0.4 begin)",
    "get_transaction": "takes nothing", "get_nested_transaction": "takes nothing",
    "in_transaction": "takes nothing", "in_nested_transaction": "takes nothing",
}
SCOPED_TAKES_NO_OBJECT = {
    **SESSION_TAKES_NO_OBJECT,
    "remove": "takes nothing", "has": "takes nothing",
    "configure": "takes Session() keywords (checked by Session())",
    "query_property": "takes a Query class",
}

QUERY_CASES: dict[str, tuple[Callable[[Any, Any], Any], dict[str, Any]]] = {
    "filter": (lambda q, x: q.filter(x), _not_sql("filter by", "User.name == 'ed'")),
    "where": (lambda q, x: q.where(x), _not_sql("filter by", "User.name == 'ed'")),
    "having": (lambda q, x: q.having(x), _not_sql("filter groups by", "func.count")),
    "order_by": (lambda q, x: q.order_by(x), _not_sql("order by", "mapped attribute")),
    "group_by": (lambda q, x: q.group_by(x), _not_sql("group by", "mapped attribute")),
    "distinct": (lambda q, x: q.distinct(x), _not_sql("select distinct on",
                                                      "mapped attribute")),
    "ext": (lambda q, x: q.ext(x), {
        OBJ: (exc.ArgumentError, ("Can't apply <Plain", "not a SQL syntax extension",
                                  "distinct_on(")),
        CLS: (exc.ArgumentError, ("Can't apply the class Plain", "not a SQL syntax extension",
                                  "distinct_on("))}),
    "join": (lambda q, x: q.join(x), _not_sql("join to", "relationship attribute")),
    "outerjoin": (lambda q, x: q.outerjoin(x), _not_sql("join to", "relationship attribute")),
    "select_from": (lambda q, x: q.select_from(x), _not_sql("select from", "or a Table")),
    "correlate": (lambda q, x: q.correlate(x), {
        OBJ: (exc.ArgumentError, ("Can't correlate to", "Plain", "a mapped class")),
        CLS: (exc.ArgumentError, ("Can't correlate to", "Plain", "a mapped class"))}),
    "select": (lambda q, x: q.select(x), _not_sql("filter by", "User.name == 'ed'")),
    "select_by": (lambda q, x: q.select_by(x), _not_sql("filter by", "User.name == 'ed'")),
    "selectfirst": (lambda q, x: q.selectfirst(x), _not_sql("filter by", "User.name == 'ed'")),
    "options": (lambda q, x: q.options(x), {
        OBJ: (exc.ArgumentError, ("Can't apply <Plain", "not a loader option", "joinedload(")),
        CLS: (exc.ArgumentError, ("Can't apply the class Plain", "joinedload("))}),
    "params": (lambda q, x: q.params(x), {
        OBJ: (exc.ArgumentError, ("<Plain", "params() takes one dictionary")),
        CLS: (exc.ArgumentError, ("the class Plain", "params() takes one dictionary"))}),
    "with_session": (lambda q, x: q.with_session(x), {
        OBJ: (exc.ArgumentError, ("<Plain", "pass a datamapper Session")),
        CLS: (exc.ArgumentError, ("the class Plain", "pass a datamapper Session"))}),
    "with_parent": (lambda q, x: q.with_parent(x), _INSTANCE_TAKERS),
    "limit": (lambda q, x: q.limit(x), {
        OBJ: (exc.ArgumentError, ("Can't limit by <Plain", "not an integer")),
        CLS: (exc.ArgumentError, ("Can't limit by the class Plain", "not an integer"))}),
    "offset": (lambda q, x: q.offset(x), {
        OBJ: (exc.ArgumentError, ("Can't offset by <Plain", "not an integer")),
        CLS: (exc.ArgumentError, ("Can't offset by the class Plain", "not an integer"))}),
    "slice": (lambda q, x: q.slice(x, 2), {
        OBJ: (exc.ArgumentError, ("Can't slice by <Plain", "not an integer")),
        CLS: (exc.ArgumentError, ("Can't slice by the class Plain", "not an integer"))}),
    "update": (lambda q, x: q.update(x), {
        OBJ: (exc.ArgumentError, ("<Plain", "takes a dictionary of new values")),
        CLS: (exc.ArgumentError, ("the class Plain", "takes a dictionary of new values"))}),
    "delete": (lambda q, x: q.delete(x), {
        OBJ: (exc.InvalidRequestError, ("Plain object", "'evaluate', 'fetch' or False")),
        CLS: (exc.InvalidRequestError, ("Plain", "'evaluate', 'fetch' or False"))}),
    "with_for_update": (lambda q, x: q.with_for_update(of=x), _not_sql(
        "lock", "a mapped attribute or a Table")),
    "from_statement": (lambda q, x: q.from_statement(x), {
        OBJ: (exc.ArgumentError, ("Can't use <Plain", "not a SELECT")),
        CLS: (exc.ArgumentError, ("the class Plain", "not a SELECT"))}),
    **{name: ((lambda n: lambda q, x: getattr(q, n)(x))(name), {
        OBJ: (exc.ArgumentError, (f"Can't {name}() with <Plain", "not a Query")),
        CLS: (exc.ArgumentError, (f"Can't {name}() with the class Plain", "not a Query"))})
       for name in ("union", "union_all", "intersect", "intersect_all", "except_",
                    "except_all")},
    **{name: ((lambda n: lambda q, x: getattr(q, n)(x))(name), {
        OBJ: (exc.ArgumentError, ("<Plain", f"as a {name[:6]}", "pass SQL text")),
        CLS: (exc.ArgumentError, ("the class Plain", f"as a {name[:6]}", "pass SQL text"))})
       for name in ("prefix_with", "suffix_with")},
    "with_hint": (lambda q, x: q.with_hint(x, "INDEX(a)"), {
        OBJ: (exc.ArgumentError, ("Can't attach a hint to <Plain", "not a mapped class")),
        CLS: (exc.ArgumentError, ("hint to the class Plain", "with_statement_hint()"))}),
    "with_statement_hint": (lambda q, x: q.with_statement_hint(x), {
        OBJ: (exc.ArgumentError, ("<Plain", "as a hint")),
        CLS: (exc.ArgumentError, ("the class Plain", "as a hint"))}),
    **{name: ((lambda n: lambda q, x: getattr(q, n)(x))(name), {
        OBJ: (exc.ArgumentError, ("Can't query <", "Plain object", "expected a mapped class")),
        CLS: (exc.ArgumentError, ("Can't query <class", "Plain", "expected a mapped class"))})
       for name in ("with_entities", "add_columns", "add_column", "add_entity")},
    "merge_result": (lambda q, x: q.merge_result(x), {
        OBJ: (exc.ArgumentError, ("Can't merge_result() <Plain", "the rows a query")),
        CLS: (exc.ArgumentError, ("Can't merge_result() the class Plain", "FrozenResult"))}),
    "compile": (lambda q, x: q.compile(x), {
        OBJ: (exc.ArgumentError, ("Can't compile the query with bind=<Plain",
                                  "not an Engine or Connection")),
        CLS: (exc.ArgumentError, ("bind=the class Plain", "pass bind=engine"))}),
}

QUERY_TAKES_NO_OBJECT = {
    "all": "takes nothing", "first": "takes nothing", "one": "takes nothing",
    "one_or_none": "takes nothing", "count": "takes nothing", "exists": "takes nothing",
    "scalar": "takes nothing", "as_scalar": "takes nothing",
    "scalar_subquery": "takes nothing", "populate_existing": "takes nothing",
    "column_descriptions": "takes nothing", "reset_joinpoint": "takes nothing",
    "subquery": "takes a name (a string)", "label": "takes a name (a string)",
    "autoflush": "takes a flag", "enable_assertions": "takes a flag",
    "only_return_tuples": "takes a flag", "tuples": "takes nothing",
    "enable_eagerloads": "takes a flag", "set_label_style": "takes a label style constant",
    "get_label_style": "takes nothing", "get_execution_options": "takes nothing",
    "cte": "takes a name and flags",
    "with_transformation": "takes a function (called with the query; non-callables refused)",
    "yield_per": "takes a batch size", "execution_options": "takes keywords only",
    "filter_by": "takes keywords only (names are checked in test_injection.py)",
    "get_by": "takes keywords only (names are checked in test_injection.py)",
    "get": "takes a primary key value (arity and names: the get() cases below)",
}


def _public_methods(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n, None))
            and not isinstance(getattr(cls, n, None), type)}


def test_every_public_method_has_a_case():
    for cls, cases, exempt in (
            (Session, SESSION_CASES, SESSION_TAKES_NO_OBJECT),
            (scoped_session, SESSION_CASES, SCOPED_TAKES_NO_OBJECT),
            (Query, QUERY_CASES, QUERY_TAKES_NO_OBJECT)):
        methods = _public_methods(cls)
        missing = sorted(methods - set(cases) - set(exempt))
        assert not missing, f"{cls.__name__} methods without a misuse case: {missing}"
        both = sorted(set(cases) & set(exempt))
        assert not both, f"{cls.__name__}: both a case and exempt: {both}"
        if cls is scoped_session:
            # every Session method is proxied: the same cases apply
            assert set(SESSION_CASES) <= methods


def _session_cases() -> list[Any]:
    return [pytest.param(name, kind, id=f"{name}-{kind}")
            for name, (_call, kinds) in SESSION_CASES.items() for kind in kinds]


# the refusals of part one happen before any SQL (checked): their PostgreSQL and
# MariaDB instances run in the slow step only (.ci/run's `pytest -m slow`)
@pytest.mark.slow_on_servers
@pytest.mark.parametrize("name,kind", _session_cases())
@pytest.mark.parametrize("through", ["Session", "scoped_session"])
def test_session_method_refuses_unmapped_input(world, sql_log, engine, name, kind, through):
    call, kinds = SESSION_CASES[name]
    error, fragments = kinds[kind]
    x = Plain() if kind == OBJ else Plain
    target: Any = world.session
    scoped = None
    if through == "scoped_session":
        scoped = scoped_session(sessionmaker(bind=engine))
        scoped.registry.set(world.session)
        target = scoped
    assert_refused(world, sql_log, lambda: call(target, x), error, fragments)


@pytest.mark.slow_on_servers
@pytest.mark.parametrize("name,kind", [
    pytest.param(name, kind, id=f"{name}-{kind}")
    for name, (_call, kinds) in QUERY_CASES.items() for kind in kinds])
def test_query_method_refuses_unmapped_input(world, sql_log, name, kind):
    call, kinds = QUERY_CASES[name]
    error, fragments = kinds[kind]
    x = Plain() if kind == OBJ else Plain
    q = world.session.query(world.User)
    assert_refused(world, sql_log, lambda: call(q, x), error, fragments)


# -------------------------------------------------------------- part two: misuses


def test_get_with_wrong_key_arity(world, sql_log):
    assert_refused(world, sql_log, lambda: world.session.get(world.User, (1, 2)),
                   exc.InvalidRequestError,
                   ("User has 1 primary key column(s) (id)", "pass 1 value(s)"))


def test_get_with_wrong_key_names(world, sql_log):
    assert_refused(world, sql_log, lambda: world.session.get(world.User, {"nope": 1}),
                   exc.InvalidRequestError, ("Can't get User", "unknown: 'nope'",
                                             "primary key attribute names id"))


def test_delete_of_a_transient_object(world, sql_log):
    u = world.User(id=50, name="t")
    assert_refused(world, sql_log, lambda: world.session.delete(u), exc.InvalidRequestError,
                   ("Can't delete", "transient", "session.expunge()"))


def test_delete_of_an_object_of_another_session(world, sql_log):
    other = world.make_session()
    foreign = other.get(world.User, 2)
    world.session.expunge(world.held[1])  # so that only the other session holds row 2
    world.held.pop(1)
    assert_refused(world, sql_log, lambda: world.session.delete(foreign),
                   exc.InvalidRequestError, ("already attached to another session",
                                             "expunge it from that session first"))


def test_re_adding_a_deleted_object(world, sql_log):
    s = world.session
    u2 = world.held[1]
    s.delete(u2)
    s.flush()
    assert_refused(world, sql_log, lambda: s.add(u2), exc.InvalidRequestError,
                   ("Can't add", "it has been deleted", "make_transient()"))


def test_two_objects_with_one_primary_key(world, sql_log):
    s = world.session
    s.add(world.User(id=60, name="x"))
    s.add(world.User(id=60, name="y"))
    assert_refused(world, sql_log, s.flush, exc.FlushError,
                   ("<User at", "have the same identity key", "(60,)",
                    "Give each object its own primary key"))


def test_none_appended_to_a_collection(world, sql_log):
    u1 = world.held[0]
    assert_refused(world, sql_log, lambda: u1.addresses.append(None), exc.InvalidRequestError,
                   ("Can't put None into User.addresses", "holds Address objects"))


def test_wrong_class_appended_to_a_collection_with_a_backref(world, sql_log):
    """Refused when appended: the backref Address.user can't be kept on a User."""
    u1 = world.held[0]
    stray = world.User(id=61)
    assert_refused(world, sql_log, lambda: u1.addresses.append(stray),
                   exc.RelatedTypeError,
                   ("into User.addresses", "holds Address objects", "backref Address.user"))


def test_wrong_class_in_a_collection_is_refused_when_added(world, sql_log):
    """Without a backref the append is taken (as SQLAlchemy takes it); the save-update
    cascade of add() refuses it, before anything is added."""
    new_user = world.User(id=62, name="n")
    new_user.tags.append(world.Address(id=62))
    err = assert_refused(world, sql_log, lambda: world.session.add(new_user),
                         exc.RelatedTypeError,
                         ("along User.tags", "<Address at", "doesn't handle objects of "
                          "type Address", "holds Tag objects", "take the Address out"))
    assert isinstance(err, AssertionError)  # the class SQLAlchemy raises there
    assert new_user not in world.session


def test_wrong_class_in_a_collection_is_refused_at_flush(world, sql_log):
    """A wrong object that reached the session another way (added by itself, or by the
    cascade of an append to an object already in the session) is refused by the
    flush, before any SQL."""
    u2 = world.held[1]
    u2.tags.append(world.Address(id=63, email="x"))  # cascaded into the session
    assert_refused(world, sql_log, world.session.flush, exc.FlushError,
                   ("Attempting to flush an item of type Address", "member of User.tags",
                    "<User at", "holds Tag objects", "take the Address out"))


def test_use_after_a_failed_flush(world, sql_log):
    s = world.session
    # a row the session's identity map does not know about
    s.execute(text("INSERT INTO mm_users (id, name) VALUES (70, 'taken')"))
    s.add(world.User(id=70, name="clash"))
    with pytest.raises(exc.IntegrityError):
        s.flush()
    for use in (lambda: s.execute(select(world.User)), s.flush, s.commit,
                lambda: s.get(world.User, 2, populate_existing=True)):
        assert_refused(world, sql_log, use, exc.PendingRollbackError,
                       ("session.rollback()", "Original exception"))
    s.rollback()
    s.add(world.User(id=71, name="fine"))
    s.commit()


def test_begin_while_begun(world, sql_log):
    assert_refused(world, sql_log, world.session.begin, exc.InvalidRequestError,
                   ("Can't begin()", "already begun", "begin_nested()"))


def test_prepare_without_two_phase(world, sql_log):
    assert_refused(world, sql_log, world.session.prepare, exc.InvalidRequestError,
                   ("Can't prepare()", "twophase=True"))


def test_flush_from_before_flush(world, sql_log):
    s = world.session

    def reenter(session, _ctx, _objs):
        session.flush()

    event.listen(s, "before_flush", reenter)
    try:
        assert_refused(world, sql_log, s.flush, exc.InvalidRequestError,
                       ("already flushing", "before_flush", "don't call flush()"))
    finally:
        event.remove(s, "before_flush", reenter)
    s.commit()  # still usable


def test_flag_modified_of_an_unloaded_attribute(world, sql_log):
    u2 = world.held[1]
    world.session.expire(u2, ["name"])
    assert_refused(world, sql_log, lambda: flag_modified(u2, "name"), exc.InvalidRequestError,
                   ("Can't flag attribute 'name'", "it is not loaded", "load or set it"))


def test_merge_without_load_of_a_dirty_object(world, sql_log):
    other = world.make_session()
    d = other.get(world.User, 2)
    other.expunge(d)
    d.name = "dirty"
    assert_refused(world, sql_log, lambda: world.session.merge(d, load=False),
                   exc.InvalidRequestError,
                   ("Can't merge with load=False", "unflushed changes", "merge with load=True"))


@pytest.mark.parametrize("how", ["get", "refresh"])
def test_with_for_update_empty_dict(world, sql_log, how):
    s = world.session
    call = ((lambda: s.get(world.User, 2, with_for_update={})) if how == "get"
            else (lambda: s.refresh(world.held[1], with_for_update={})))
    assert_refused(world, sql_log, call, exc.ArgumentError,
                   ("with_for_update={}", "would take no lock", "with_for_update=True"))


def test_executemany_parameters_for_a_select(world, sql_log):
    assert_refused(world, sql_log,
                   lambda: world.session.execute(select(world.User), [{}, {}]),
                   exc.ArgumentError, ("Can't execute a SELECT with a list of 2 parameter sets",
                                       "run the SELECT once per parameter set"))


@pytest.mark.postgresql_only
def test_nul_in_postgresql_text(world, sql_log):
    s = world.session
    bad = world.User(id=80, name="a\x00b")
    s.add(bad)
    world.held.append(bad)
    with pytest.raises(exc.StatementError) as info:
        s.flush()
    assert isinstance(info.value, exc.DataError)
    assert "NUL" in str(info.value)
    with pytest.raises(exc.PendingRollbackError):
        s.execute(select(world.User))
    s.rollback()
    s.add(world.User(id=81, name="fine"))
    s.commit()
    assert s.get(world.User, 81).name == "fine"


# -------------------------------------------------- the checks catch broken sessions


class SwallowingSession(Session):
    """Deliberately broken: hides every refusal of add()."""

    def add(self, instance: Any, _warn: bool = True) -> None:
        try:
            super().add(instance, _warn)
        except Exception:
            pass


class HalfDoneSession(Session):
    """Deliberately broken: expires everything before it checks its argument."""

    def add(self, instance: Any, _warn: bool = True) -> None:
        self.expire_all()
        super().add(instance, _warn)


class ChattySession(Session):
    """Deliberately broken: asks the database before it checks its argument."""

    def add(self, instance: Any, _warn: bool = True) -> None:
        self.execute(text("SELECT 1"))
        super().add(instance, _warn)


class MuteSession(Session):
    """Deliberately broken: its refusal names nothing."""

    def add(self, instance: Any, _warn: bool = True) -> None:
        try:
            super().add(instance, _warn)
        except exc.UnmappedInstanceError:
            raise exc.UnmappedInstanceError("bad argument") from None


def _broken_world(world: World, cls: type[Session]) -> World:
    world.session.__class__ = cls
    return world


@pytest.mark.parametrize("cls,fails_with", [
    (SwallowingSession, "DID NOT RAISE"),
    (HalfDoneSession, "the refused call changed the session"),
    (ChattySession, "SQL was sent"),
    (MuteSession, "not in the message"),
])
def test_checks_catch_a_broken_session(world, sql_log, cls, fails_with):
    w = _broken_world(world, cls)
    error, fragments = _UNMAPPED
    with pytest.raises((AssertionError, pytest.fail.Exception), match=fails_with):
        assert_refused(w, sql_log, lambda: w.session.add(Plain()), error, fragments)
    w.session.__class__ = Session


def test_checks_pass_a_sound_session(world, sql_log):
    error, fragments = _UNMAPPED
    assert_refused(world, sql_log, lambda: world.session.add(Plain()), error, fragments)


def test_method_census_catches_a_method_without_a_case():
    class Grown(Session):
        def frobnicate(self, obj: Any) -> None:
            """A new public method."""

    missing = _public_methods(Grown) - set(SESSION_CASES) - set(SESSION_TAKES_NO_OBJECT)
    assert missing == {"frobnicate"}
