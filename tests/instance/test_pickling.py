"""Pickling and copying mapped objects.

An object pickles with its loaded values, collections, related objects and
history, and unpickles without any session: a persistent object comes back
detached with its identity key, a transient or pending one transient.
Unloaded (expired) attributes stay unloaded.  Collections come back
instrumented.  ``copy.deepcopy`` goes the same way; ``copy.copy`` gives a
shallow copy with its own state.  The classes live in ``_pickle_models`` so
that pickle (and a child process) can find them by name.
"""

import copy
import importlib
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import _pickle_models
from _pickle_models import Address, Base, Custom, Doc, Keyword, Node, Profile, User
from datamapper import inspect, select
from datamapper.attributes import get_history
from datamapper.exc import DetachedInstanceError
from datamapper.instance.collections import is_instrumented


@pytest.fixture(autouse=True)
def _models_mapped():
    """Another test's clear_mappers() unmaps every class, these module-level ones
    too: map them again (a fresh import of their module) before each test here."""
    global Address, Base, Custom, Doc, Keyword, Node, Profile, User
    try:
        inspect(User)
    except Exception:
        mod = importlib.reload(_pickle_models)
        Address, Base, Custom, Doc = mod.Address, mod.Base, mod.Custom, mod.Doc
        Keyword, Node, Profile, User = mod.Keyword, mod.Node, mod.Profile, mod.User


@pytest.fixture
def tables(engine):
    # emptied or dropped after the test by the engine fixture (on the servers kept,
    # emptied, for the next test here: dropping them here cost a fresh CREATE each time)
    Base.metadata.create_all(engine)
    return Base.metadata.tables


@pytest.fixture
def stored(tables, make_session):
    """User 1 'ed' with addresses 1, 2, keyword 1, a profile; committed."""
    s = make_session()
    s.add(User(id=1, name="ed", note="n1",
               addresses=[Address(id=1, email="a1@x"), Address(id=2, email="a2@x")],
               keywords={Keyword(id=1, word="k1")}, profile=Profile(id=1, bio="b")))
    s.commit()
    s.close()


def _loaded_user(session):
    """User 1 with every relationship loaded, and each address's many-to-one loaded."""
    u = session.get(User, 1)
    for a in u.addresses:
        assert a.user is u
    assert len(u.keywords) == 1
    assert u.profile.bio == "b" and u.profile.user is u
    return u


def _round_trip(obj, protocol=pickle.HIGHEST_PROTOCOL):
    return pickle.loads(pickle.dumps(obj, protocol))


def test_persistent_object_unpickles_detached_with_collections_and_merges(
        stored, tables, make_session, read_rows):
    s = make_session()
    u = _loaded_user(s)
    s.close()  # detached, every value loaded

    u2 = _round_trip(u)
    st = inspect(u2)
    assert st.detached and st.session is None
    assert st.key == (User, (1,), None)
    assert (u2.id, u2.name, u2.note) == (1, "ed", "n1")
    assert [a.email for a in u2.addresses] == ["a1@x", "a2@x"]
    assert all(a.user is u2 for a in u2.addresses)  # many-to-one back to the copy
    assert all(inspect(a).detached for a in u2.addresses)
    assert is_instrumented(u2.addresses) and is_instrumented(u2.keywords)
    assert isinstance(u2.keywords, set)
    assert u2.profile.user is u2

    s2 = make_session()
    m = s2.merge(u2)
    assert inspect(m).persistent and m is not u2
    m.name = "edward"
    m.addresses.append(Address(id=3, email="a3@x"))
    s2.commit()
    assert read_rows(tables["pk_users"]) == [(1, "edward", "n1")]
    assert read_rows(tables["pk_addresses"]) == [(1, "a1@x", 1), (2, "a2@x", 1), (3, "a3@x", 1)]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_pickle_protocol_round_trips(stored, make_session, protocol):
    s = make_session()
    u = _loaded_user(s)
    u2 = _round_trip(u, protocol)
    assert inspect(u2).detached and inspect(u2).key == (User, (1,), None)
    assert inspect(u).persistent  # the original is untouched
    assert [a.email for a in u2.addresses] == ["a1@x", "a2@x"]
    assert is_instrumented(u2.addresses)
    assert u2.addresses[0].user is u2


def test_transient_stays_transient_and_pending_becomes_transient_keeping_its_values(
        tables, make_session):
    t = User(id=5, name="t", addresses=[Address(id=50, email="t@x")])
    t2 = _round_trip(t)
    assert inspect(t2).transient
    assert (t2.id, t2.name) == (5, "t")
    assert get_history(t2, "name") == (["t"], (), ())

    s = make_session()
    p = User(id=6, name="p")
    s.add(p)
    p2 = _round_trip(p)
    assert inspect(p).pending
    assert inspect(p2).transient and inspect(p2).session is None
    assert get_history(p2, "name") == (["p"], (), ())


def test_transient_round_trip_then_add_inserts(tables, make_session, read_rows):
    t2 = _round_trip(User(id=5, name="t", addresses=[Address(id=50, email="t@x")]))
    s = make_session()
    s.add(t2)
    s.commit()
    assert read_rows(tables["pk_users"]) == [(5, "t", None)]
    assert read_rows(tables["pk_addresses"]) == [(50, "t@x", 5)]


def test_expired_attribute_stays_unloaded_and_loads_after_add(
        stored, make_session, sql_log):
    s = make_session()
    u = s.get(User, 1)
    u.addresses  # noqa: B018
    s.expire(u, ["note"])
    s.close()

    u2 = _round_trip(u)
    assert "note" in inspect(u2).unloaded
    assert "note" in inspect(u2).expired_attributes
    with pytest.raises(DetachedInstanceError):
        u2.note  # noqa: B018

    s2 = make_session()
    s2.add(u2)
    sql_log.clear()
    assert u2.note == "n1"
    assert len(sql_log.matching("SELECT")) == 1
    assert inspect(u2).persistent


def test_expired_attribute_is_not_copied_by_merge(stored, make_session, read_rows, tables):
    s = make_session()
    u = s.get(User, 1)
    s.expire(u, ["note"])
    u.name = "changed"
    u2 = _round_trip(u)
    s.rollback()

    s2 = make_session()
    m = s2.merge(u2)
    assert m.note == "n1"  # loaded from the database, not overwritten with None
    assert m.name == "changed"
    s2.commit()
    assert read_rows(tables["pk_users"]) == [(1, "changed", "n1")]


def test_unloaded_relationship_stays_unloaded(stored, make_session):
    s = make_session()
    u = s.get(User, 1)
    u2 = _round_trip(u)
    assert "addresses" not in inspect(u2).dict
    with pytest.raises(DetachedInstanceError):
        u2.addresses  # noqa: B018
    s2 = make_session()
    s2.add(u2)
    assert [a.id for a in u2.addresses] == [1, 2]


def test_unpickled_collections_record_history_and_flush(
        stored, tables, make_session, read_rows):
    s = make_session()
    u = _loaded_user(s)
    s.close()
    u2 = _round_trip(u)

    new = Address(id=3, email="a3@x")
    u2.addresses.append(new)
    removed = u2.addresses[0]
    u2.addresses.remove(removed)
    assert removed.user is None
    u2.keywords.add(Keyword(id=2, word="k2"))
    h = get_history(u2, "addresses")
    assert h.added == [new] and h.deleted == [removed]
    assert [k.word for k in get_history(u2, "keywords").added] == ["k2"]
    assert new.user is u2  # the backref still fires
    assert inspect(u2).modified

    s2 = make_session(weak_identity_map=False)
    s2.add(u2)
    s2.add(removed)
    s2.commit()
    assert read_rows(tables["pk_addresses"]) == [(1, "a1@x", None), (2, "a2@x", 1),
                                                 (3, "a3@x", 1)]
    assert read_rows(tables["pk_user_keywords"]) == [(1, 1), (1, 2)]


def test_unflushed_changes_travel_as_history_and_flush_after_add(
        stored, tables, make_session, read_rows):
    s = make_session()
    u = _loaded_user(s)
    u.name = "edward"
    u.addresses.append(Address(id=3, email="a3@x"))
    u2 = _round_trip(u)
    s.rollback()
    s.close()

    assert inspect(u2).modified
    assert get_history(u2, "name") == (["edward"], (), ["ed"])
    assert [a.id for a in get_history(u2, "addresses").added] == [3]
    s2 = make_session()
    s2.add(u2)
    assert u2 in s2.dirty
    s2.commit()
    assert read_rows(tables["pk_users"]) == [(1, "edward", "n1")]
    assert read_rows(tables["pk_addresses"]) == [(1, "a1@x", 1), (2, "a2@x", 1), (3, "a3@x", 1)]


def test_self_referential_graph_round_trips(tables, make_session, read_rows):
    s = make_session()
    root = Node(id=1, name="root", children=[Node(id=2, name="c1"), Node(id=3, name="c2")])
    s.add(root)
    s.commit()
    root = s.get(Node, 1)
    assert [c.parent for c in root.children] == [root, root]
    s.close()

    r2 = _round_trip(root)
    assert [c.name for c in r2.children] == ["c1", "c2"]
    assert all(c.parent is r2 for c in r2.children)
    s2 = make_session()
    m = s2.merge(r2)
    m.children[0].name = "c1b"
    s2.commit()
    assert read_rows(tables["pk_nodes"]) == [(1, "root", None), (2, "c1b", 1), (3, "c2", 1)]


def test_versioned_object_round_trip_merges_with_version_check(
        tables, make_session, read_rows):
    s = make_session()
    s.add(Doc(id=1, title="a"))
    s.commit()
    d = s.get(Doc, 1)
    assert d.version == 1
    s.close()

    d2 = _round_trip(d)
    d2.title = "b"
    s2 = make_session()
    s2.add(d2)
    s2.commit()
    assert read_rows(tables["pk_docs"]) == [(1, "b", 2)]


def test_class_with_own_getstate_and_setstate_uses_them(tables, make_session):
    s = make_session()
    s.add(Custom(id=1, name="x"))
    s.commit()
    c = s.get(Custom, 1)
    c2 = _round_trip(c)
    assert c2.name == "x+pickled"
    assert c2.__dict__["restored"] is True
    assert inspect(c2).detached and inspect(c2).key == (Custom, (1,), None)
    assert inspect(c).persistent


def test_deepcopy_gives_detached_copy_of_the_graph(stored, make_session):
    s = make_session()
    u = _loaded_user(s)
    u2 = copy.deepcopy(u)
    assert inspect(u2) is not inspect(u)
    assert inspect(u2).detached and inspect(u2).key == inspect(u).key
    assert inspect(u).persistent
    assert u2.addresses[0] is not u.addresses[0]
    assert u2.addresses[0].user is u2
    assert is_instrumented(u2.addresses)
    u2.name = "other"
    assert u.name == "ed" and not inspect(u).modified


def test_copy_gives_shallow_copy_with_its_own_state(stored, make_session):
    s = make_session()
    u = _loaded_user(s)
    c = copy.copy(u)
    assert inspect(c) is not inspect(u)
    assert inspect(c).detached and inspect(c).key == inspect(u).key
    assert inspect(u).persistent and c not in s
    assert c.addresses is not u.addresses  # its own collection ...
    assert c.addresses[0] is u.addresses[0]  # ... of the same members
    assert is_instrumented(c.addresses)
    c.name = "other"
    assert u.name == "ed" and not inspect(u).modified
    assert get_history(c, "name") == (["other"], (), ["ed"])
    assert u not in s.dirty


def test_copy_of_collection_is_a_plain_collection(stored, make_session):
    s = make_session()
    u = _loaded_user(s)
    c = copy.copy(u.addresses)
    assert type(c) is list and c == u.addresses
    c.append(Address(id=9))
    assert len(u.addresses) == 2 and not inspect(u).modified


@pytest.mark.sqlite_only
def test_unpickling_in_another_process_needs_no_session(stored, make_session, tmp_path):
    s = make_session()
    u = _loaded_user(s)
    data = tmp_path / "user.pickle"
    data.write_bytes(pickle.dumps(u))
    script = (
        "import pickle, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent.parent)!r})\n"
        "from datamapper import inspect\n"
        f"u = pickle.loads(open({str(data)!r}, 'rb').read())\n"
        "print(inspect(u).detached, u.name, [a.email for a in u.addresses],"
        " u.addresses[0].user is u)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.split() == ["True", "ed", "['a1@x',", "'a2@x']", "True"]


def test_unpickled_object_joins_query_results_of_its_new_session(stored, make_session):
    s = make_session()
    u = _loaded_user(s)
    s.close()
    u2 = _round_trip(u)
    s2 = make_session()
    s2.add(u2)
    assert s2.execute(select(User).where(User.id == 1)).scalars().one() is u2


def test_class_with_its_own_copy_keeps_it():
    from sqlalchemy import Column, Integer

    from datamapper import declarative_base

    LocalBase = declarative_base()

    class Own(LocalBase):
        __tablename__ = "own"
        id = Column(Integer, primary_key=True)

        def __copy__(self):
            return "mine"

    assert copy.copy(Own(id=1)) == "mine"


def test_object_with_keyed_dict_collections_round_trips(tables, make_session, read_rows):
    """A keyed dictionary collection's class is made at run time by
    attribute_keyed_dict()/column_keyed_dict(): the object still pickles, its
    dictionaries come back keyed the same, and a change after unpickling flushes."""
    Shelf, Book = _pickle_models.Shelf, _pickle_models.Book
    s = make_session()
    s.add(Shelf(id=1, by_title={"a": Book(id=1, title="a"), "b": Book(id=2, title="b")}))
    s.commit()
    shelf = s.get(Shelf, 1)
    assert set(shelf.by_title) == {"a", "b"} and set(shelf.by_column) == {1, 2}
    s.close()

    copy = _round_trip(shelf)
    assert {k: b.id for k, b in copy.by_title.items()} == {"a": 1, "b": 2}
    assert {k: b.title for k, b in copy.by_column.items()} == {1: "a", 2: "b"}
    assert is_instrumented(copy.by_title)

    s2 = make_session()
    copy = s2.merge(copy)
    copy.by_title.set(Book(id=3, title="c"))
    s2.commit()
    assert read_rows(Book.__table__) == [(1, "a", 1), (2, "b", 1), (3, "c", 1)]


def test_loader_options_pickle_and_load_the_same_after_unpickling(stored, make_session,
                                                                  sql_log):
    """Loader options (e.g. kept with a cached query) pickle: their attributes by class
    and name; unpickled, they load what the originals load."""
    from datamapper import Load, defer, joinedload, raiseload, selectinload

    opts = [joinedload(User.addresses), defer(User.name),
            joinedload(User.addresses).raiseload("*"), Load(User).selectinload(User.keywords),
            selectinload(User.addresses).joinedload(Address.user), raiseload("*")]
    for opt in opts:
        copy_ = _round_trip(opt)
        shown = []
        for o in (opt, copy_):
            s = make_session()
            sql_log.clear()
            u = s.scalars(select(User).options(o)).unique().one()
            shown.append((list(sql_log), sorted(k for k in u.__dict__ if not k.startswith("_"))))
            s.close()
        assert shown[0] == shown[1], opt


def _no_second_address(cls):  # module level: pickled by reference, as any function
    return cls.email != "a2@x"


def test_an_object_loaded_with_loader_criteria_pickles_and_keeps_them(stored, make_session):
    """with_loader_criteria() rides along on the objects it loaded (for their later
    relationship loads): pickling such an object pickles the option as its arguments
    (was TypeError: cannot pickle 'weakref.ReferenceType' object)."""
    from datamapper import with_loader_criteria

    s = make_session(expire_on_commit=False)
    u = s.query(User).options(
        with_loader_criteria(Address, _no_second_address, include_aliases=True)).first()
    copy_ = _round_trip(u)
    s.close()
    s2 = make_session()
    s2.add(copy_)
    assert [a.email for a in copy_.addresses] == ["a1@x"]  # the criteria still apply


def test_fixed_loader_criteria_of_mapped_attributes_refuse_pickling_by_name(
        stored, make_session):
    """An expression of mapped attributes does not pickle (in SQLAlchemy neither): the
    error names the option and the way out."""
    from datamapper import with_loader_criteria

    s = make_session()
    u = s.query(User).options(with_loader_criteria(Address, Address.email == "a2@x")).first()
    with pytest.raises(pickle.PicklingError,
                       match=r"Can't pickle with_loader_criteria\(Address, \.\.\.\): .*"
                             r"module-level function"):
        pickle.dumps(u)


def test_loader_options_below_a_relationship_survive_pickling(stored, make_session, sql_log):
    """defer() under defaultload() rides on the object it loaded: after pickling (and
    after a merge(load=False) of the unpickled copy) the lazy load of the relationship
    still leaves the column out (the plan was dropped at pickling: the email was loaded)."""
    from datamapper import defaultload, defer

    s = make_session(expire_on_commit=False)
    u = s.get(User, 1, options=[defer(User.name),
                                defaultload(User.addresses).defer(Address.email)])
    s.close()
    for how in ("add", "merge"):
        copy_ = _round_trip(u)
        s2 = make_session()
        if how == "add":
            s2.add(copy_)
        else:
            copy_ = s2.merge(copy_, load=False)
        assert "addresses" not in copy_.__dict__
        sql_log.clear()
        a = copy_.addresses[0]
        assert "email" not in a.__dict__, how
        assert "pk_addresses.email" not in sql_log.statements[0]
        assert a.email == "a1@x"  # loads on access
        s2.close()


def test_relationship_criteria_of_a_lazy_load_are_left_behind_with_a_warning(
        stored, make_session):
    """lazyload(User.addresses.and_(...)): the criteria (SQL of mapped attributes) can't
    travel by name; pickling warns and the unpickled object's lazy load has none."""
    from datamapper import lazyload
    from datamapper.exc import SAWarning

    s = make_session(expire_on_commit=False)
    u = s.query(User).options(lazyload(User.addresses.and_(Address.email != "a2@x"))).one()
    with pytest.warns(SAWarning, match="Can't reliably pickle the criteria"):
        copy_ = _round_trip(u)
    assert [a.email for a in u.addresses] == ["a1@x"]
    s.close()
    s2 = make_session()
    s2.add(copy_)
    assert [a.email for a in copy_.addresses] == ["a1@x", "a2@x"]
