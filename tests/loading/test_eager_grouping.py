"""Eager loaders group the related rows by parent: each parent gets exactly its own
objects, once each, in row order, whatever order the parents' rows come in."""

from datamapper import contains_eager, joinedload, selectinload
from datamapper.loading import strategies


def _seed(session, models):
    User, Address = models
    session.add_all([
        User(id=1, name="jack", addresses=[Address(id=1, email="b"), Address(id=2, email="d")]),
        User(id=2, name="ed", addresses=[Address(id=3, email="a"), Address(id=4, email="c")]),
        User(id=3, name="fred"),
    ])
    session.commit()
    session.close()


def test_contains_eager_groups_interleaved_parent_rows(models, make_session, sql_log):
    User, Address = models
    _seed(make_session(), models)
    s = make_session()
    sql_log.clear()
    # ordered by email, the rows alternate between the two parents: ed, jack, ed, jack
    users = (s.query(User).join(User.addresses).options(contains_eager(User.addresses))
             .order_by(Address.email).all())
    assert sql_log.count == 1
    assert [u.name for u in users] == ["ed", "jack"]
    sql_log.clear()
    assert {u.name: [a.email for a in u.addresses] for u in users} == {
        "ed": ["a", "c"], "jack": ["b", "d"]}
    assert sql_log.count == 0


def test_joinedload_gives_each_parent_its_children_once(models, make_session, sql_log):
    User, _Address = models
    _seed(make_session(), models)
    s = make_session()
    sql_log.clear()
    users = s.query(User).options(joinedload(User.addresses)).order_by(User.id).all()
    assert sql_log.count == 1
    assert [u.name for u in users] == ["jack", "ed", "fred"]
    assert [[a.id for a in u.addresses] for u in users] == [[1, 2], [3, 4], []]
    assert sql_log.count == 1


def test_selectinload_groups_children_by_parent_across_batches(models, make_session, sql_log,
                                                               monkeypatch):
    monkeypatch.setattr(strategies, "IN_BATCH", 1)
    User, _Address = models
    _seed(make_session(), models)
    s = make_session()
    sql_log.clear()
    users = s.query(User).options(selectinload(User.addresses)).order_by(User.id).all()
    assert sql_log.count == 4  # the users, then one IN statement per user
    assert [[a.id for a in u.addresses] for u in users] == [[1, 2], [3, 4], []]
    assert all(a.user is u for u in users for a in u.addresses)
    assert sql_log.count == 4


def test_eager_loads_of_large_results_run_with_the_cyclic_gc_paused(models, make_session,
                                                                    sql_log, monkeypatch):
    """From _GC_PAUSE_ROWS rows on, the objects and collections of a query with eager
    loaders are built with the cyclic collector paused, and it is on again afterwards,
    also when loading fails."""
    import gc

    from datamapper.query import plan_execution as options

    User, _Address = models
    _seed(make_session(), models)
    seen: list[bool] = []
    real = options._load_with_plans

    def spy(*a, **k):
        seen.append(gc.isenabled())
        return real(*a, **k)

    monkeypatch.setattr(options, "_load_with_plans", spy)
    monkeypatch.setattr(options, "_GC_PAUSE_ROWS", 5)  # the join gives 5 rows
    s = make_session()
    sql_log.clear()
    users = s.query(User).options(joinedload(User.addresses)).order_by(User.id).all()
    assert [[a.id for a in u.addresses] for u in users] == [[1, 2], [3, 4], []]
    assert seen == [False] and gc.isenabled()
    s.close()
    users = make_session().query(User).options(selectinload(User.addresses)).all()
    assert seen == [False, True] and gc.isenabled()  # 3 user rows: below the threshold

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(options, "_load_with_plans", boom)
    try:
        make_session().query(User).options(joinedload(User.addresses)).all()
    except RuntimeError:
        pass
    else:
        raise AssertionError("the loader's error was lost")
    assert gc.isenabled()
    assert sql_log.count == 4  # the join, the users and their IN query, the join


def test_joinedload_through_a_join_that_repeats_parents_gives_each_child_once(
        models, make_session, sql_log):
    User, Address = models
    _seed(make_session(), models)
    s = make_session()
    sql_log.clear()
    # the explicit join repeats each user once per address, so the eager join's rows
    # hold every address of a user twice (1, 2, 1, 2): each is kept once, in row order
    users = (s.query(User).join(User.addresses).options(joinedload(User.addresses))
             .order_by(User.id, Address.id).all())
    assert sql_log.count == 1
    assert [u.name for u in users] == ["jack", "ed"]
    assert [sorted(a.id for a in u.addresses) for u in users] == [[1, 2], [3, 4]]
    assert [len(u.addresses) for u in users] == [2, 2]
    assert sql_log.count == 1
