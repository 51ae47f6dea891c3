"""Horizontal partitioning: ``datamapper.sharding.ShardedSession``.

Two shards ("eu", "na") hold the same two tables: locations by continent and
their weather reports (a report lives on its location's shard).  Most tests
use one SQLite database file per shard; the last ones use this test's backend
database plus a second database of the same backend (the servers when
available).  Rows are read back through separate connections of each shard.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String, func

import _support
from _tx_support import assert_released
from datamapper import declarative_base, inspect, relationship, select
from datamapper import exc as dm_exc
from datamapper.sharding import ShardContext, ShardedQuery, ShardedSession

SHARDS = ("eu", "na")


def _continent_shard(continent: str | None) -> str:
    return "eu" if continent == "europe" else "na"


def _criteria_value(stmt: Any, column: Any) -> Any:
    """The value compared to ``column`` with ``==`` in ``stmt``'s WHERE clause, if any."""
    where = getattr(stmt, "whereclause", None)
    if where is None:
        return None
    found: list[Any] = []

    def visit_binary(binary: Any) -> None:
        if binary.operator is sa.sql.operators.eq:
            left, right = binary.left, binary.right
            if getattr(left, "key", None) == column.key and hasattr(right, "effective_value"):
                found.append(right.effective_value)

    sa.sql.visitors.traverse(where, {}, {"binary": visit_binary})
    return found[0] if found else None


@pytest.fixture
def model(metadata: sa.MetaData) -> tuple[Any, Any]:
    Base = declarative_base(metadata=metadata)

    class Location(Base):
        __tablename__ = "sh_locations"
        id = Column(Integer, primary_key=True, autoincrement=False)
        continent = Column(String(30), nullable=False)
        city = Column(String(50))
        reports = relationship("Report", backref="location", cascade="all, delete-orphan",
                               order_by="Report.id")

    class Report(Base):
        __tablename__ = "sh_reports"
        id = Column(Integer, primary_key=True, autoincrement=False)
        location_id = Column(Integer, ForeignKey("sh_locations.id"), nullable=False)
        temperature = Column(Integer)

    return Location, Report


class Choosers:
    """The three choosers, recording what they were asked."""

    def __init__(self, Location: Any, Report: Any) -> None:
        self.Location = Location
        self.Report = Report
        self.calls: list[tuple[str, Any]] = []

    def shard_chooser(self, mapper: Any, instance: Any, clause: Any = None) -> str:
        self.calls.append(("shard", instance))
        if isinstance(instance, self.Report):
            loc = instance.location
            token = inspect(loc).identity_token
            return token if token is not None else _continent_shard(loc.continent)
        if isinstance(instance, self.Location):
            return _continent_shard(instance.continent)
        return "na"

    def identity_chooser(self, mapper: Any, primary_key: Any, *, lazy_loaded_from: Any = None,
                         **kw: Any) -> list[str]:
        self.calls.append(("identity", (tuple(primary_key), lazy_loaded_from)))
        if lazy_loaded_from is not None:
            return [lazy_loaded_from.identity_token]
        return list(SHARDS)

    def execute_chooser(self, context: ShardContext) -> list[str]:
        self.calls.append(("execute", context.statement))
        continent = _criteria_value(context.statement, self.Location.continent)
        if continent is not None:
            return [_continent_shard(continent)]
        return list(SHARDS)


class Counter:
    """Statements sent to each shard."""

    def __init__(self, engines: dict[str, Any]) -> None:
        self.counts = {sid: 0 for sid in engines}
        for sid, eng in engines.items():
            sa.event.listen(eng, "before_cursor_execute", self._make(sid))

    def _make(self, sid: str) -> Any:
        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
                self.counts[sid] += 1
        return count

    def reset(self) -> None:
        for sid in self.counts:
            self.counts[sid] = 0


@pytest.fixture
def shard_engines(tmp_path: Any, model: tuple[Any, Any]) -> Iterator[dict[str, Any]]:
    engines = {sid: _support.sqlite_engine(tmp_path / f"shard_{sid}.db") for sid in SHARDS}
    Location, _ = model
    for eng in engines.values():
        Location.metadata.create_all(eng)
    yield engines
    for eng in engines.values():
        eng.dispose()


@pytest.fixture
def make_sharded(model: tuple[Any, Any]) -> Iterator[Any]:
    made: list[ShardedSession] = []

    def make(engines: dict[str, Any], **kw: Any) -> tuple[ShardedSession, Choosers]:
        ch = Choosers(*model)
        s = ShardedSession(shards=engines, shard_chooser=ch.shard_chooser,
                           identity_chooser=ch.identity_chooser,
                           execute_chooser=ch.execute_chooser, **kw)
        made.append(s)
        return s, ch

    yield make
    for s in made:
        s.close()


def rows(engine: Any, table: Any) -> list[tuple[Any, ...]]:
    return _support.read_rows(engine, table)


def _populate(s: ShardedSession, Location: Any, Report: Any) -> None:
    s.add_all([
        Location(id=1, continent="europe", city="Oslo",
                 reports=[Report(id=10, temperature=-3), Report(id=11, temperature=2)]),
        Location(id=2, continent="europe", city="Rome", reports=[Report(id=12, temperature=20)]),
        Location(id=3, continent="north_america", city="Boston",
                 reports=[Report(id=13, temperature=5)]),
    ])
    s.commit()


# ------------------------------------------------------------------------------ flush


def test_flush_writes_each_new_object_to_the_shard_its_chooser_names(model, shard_engines,
                                                                     make_sharded):
    Location, Report = model
    s, ch = make_sharded(shard_engines)
    oslo = Location(id=1, continent="europe", city="Oslo", reports=[Report(id=10, temperature=-3)])
    boston = Location(id=3, continent="north_america", city="Boston",
                      reports=[Report(id=13, temperature=5)])
    s.add_all([oslo, boston])
    s.flush()
    # identity keys carry the shard id as their token
    assert inspect(oslo).key == (Location, (1,), "eu")
    assert inspect(oslo.reports[0]).key == (Report, (10,), "eu")
    assert inspect(boston).key == (Location, (3,), "na")
    assert s.identity_map[(Report, (13,), "na")] is boston.reports[0]
    # shard_chooser is asked once per new object per flush
    assert sum(1 for kind, _ in ch.calls if kind == "shard") == 4
    s.commit()
    eu, na = shard_engines["eu"], shard_engines["na"]
    assert rows(eu, Location.__table__) == [(1, "europe", "Oslo")]
    assert rows(eu, Report.__table__) == [(10, 1, -3)]
    assert rows(na, Location.__table__) == [(3, "north_america", "Boston")]
    assert rows(na, Report.__table__) == [(13, 3, 5)]


def test_changes_and_deletes_go_to_the_shard_the_object_came_from(model, shard_engines,
                                                                  make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, ch = make_sharded(shard_engines)
    rome = s2.get(Location, 2)
    boston = s2.get(Location, 3)
    # a continent change does not move the row: it stays on the shard it was loaded from
    rome.city, rome.continent = "Roma", "north_america"
    s2.delete(boston)
    s2.commit()
    assert not [c for c in ch.calls if c[0] == "shard"]
    assert rows(shard_engines["eu"], Location.__table__) == [
        (1, "europe", "Oslo"), (2, "north_america", "Roma")]
    assert rows(shard_engines["na"], Location.__table__) == []
    assert rows(shard_engines["na"], Report.__table__) == []  # delete cascade, same shard
    assert [r[0] for r in rows(shard_engines["eu"], Report.__table__)] == [10, 11, 12]


def test_commit_and_rollback_span_every_shard(model, shard_engines, make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    s.add_all([Location(id=1, continent="europe"), Location(id=3, continent="asia")])
    s.flush()
    conns = {sid: s.connection(shard_id=sid) for sid in SHARDS}
    assert conns["eu"] is not conns["na"]
    s.rollback()
    for eng in shard_engines.values():
        assert rows(eng, Location.__table__) == []
    assert list(s) == []  # the pending objects were expunged
    s.add_all([Location(id=1, continent="europe"), Location(id=3, continent="asia")])
    s.commit()
    assert rows(shard_engines["eu"], Location.__table__) == [(1, "europe", None)]
    assert rows(shard_engines["na"], Location.__table__) == [(3, "asia", None)]
    s.close()
    assert_released(*shard_engines.values())


def test_failed_flush_on_one_shard_rolls_back_the_other(model, shard_engines, make_sharded):
    Location, _ = model
    with shard_engines["na"].begin() as conn:
        conn.execute(Location.__table__.insert(), {"id": 3, "continent": "asia"})
    s, _ = make_sharded(shard_engines)
    s.add_all([Location(id=1, continent="europe"), Location(id=3, continent="asia")])
    with pytest.raises(dm_exc.IntegrityError):
        s.commit()
    s.rollback()
    assert rows(shard_engines["eu"], Location.__table__) == []
    assert rows(shard_engines["na"], Location.__table__) == [(3, "asia", None)]


def test_same_primary_key_on_two_shards_is_two_objects(model, shard_engines, make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    paris = Location(id=1, continent="europe", city="Paris",
                     reports=[Report(id=7, temperature=15)])
    lima = Location(id=1, continent="south_america", city="Lima",
                    reports=[Report(id=7, temperature=25)])
    s.add_all([paris, lima])
    s.commit()  # no identity conflict: the keys differ by shard
    assert rows(shard_engines["eu"], Location.__table__) == [(1, "europe", "Paris")]
    assert rows(shard_engines["na"], Location.__table__) == [(1, "south_america", "Lima")]

    s2, _ = make_sharded(shard_engines)
    found = s2.query(Location).all()
    assert sorted(o.city for o in found) == ["Lima", "Paris"]
    assert len({id(o) for o in found}) == 2
    by_token = {inspect(o).identity_token: o for o in found}
    assert s2.get(Location, 1, identity_token="eu") is by_token["eu"]
    assert s2.get(Location, 1, identity_token="na") is by_token["na"]
    # lazy loads run on the parent's shard: each city sees its own report 7
    assert by_token["eu"].reports[0].temperature == 15
    assert by_token["na"].reports[0].temperature == 25
    assert by_token["na"].reports[0].location is by_token["na"]
    # expired attributes reload from the object's own shard
    s2.expire_all()
    assert (by_token["eu"].city, by_token["na"].city) == ("Paris", "Lima")


def test_two_new_objects_with_one_key_on_one_shard_still_conflict(model, shard_engines,
                                                                  make_sharded):
    Location, _ = model
    s, _ = make_sharded(shard_engines)
    s.add_all([Location(id=1, continent="europe"), Location(id=1, continent="europe")])
    with pytest.raises(dm_exc.FlushError, match="same identity key"):
        s.flush()


# ------------------------------------------------------------------------------- get


def test_get_asks_identity_chooser_then_queries_shards_in_order(model, shard_engines,
                                                                make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, ch = make_sharded(shard_engines)
    counter = Counter(shard_engines)
    boston = s2.get(Location, 3)
    assert boston.city == "Boston" and inspect(boston).key == (Location, (3,), "na")
    assert counter.counts == {"eu": 1, "na": 1}  # eu first (missing), then na
    assert ("identity", ((3,), None)) in ch.calls
    counter.reset()
    oslo = s2.get(Location, 1)
    assert inspect(oslo).identity_token == "eu" and counter.counts == {"eu": 1, "na": 0}
    counter.reset()
    # identity map of every candidate shard first: no SQL
    assert s2.get(Location, 3) is boston and s2.get(Location, 1) is oslo
    assert counter.counts == {"eu": 0, "na": 0}
    assert s2.get(Location, 99) is None
    assert counter.counts == {"eu": 1, "na": 1}
    counter.reset()
    # one shard only
    assert s2.get(Location, 3, identity_token="eu") is None
    assert s2.get(Location, 3, execution_options={"shard_id": "na"}) is boston
    assert counter.counts == {"eu": 1, "na": 0}
    assert s2.query(Location).set_shard("na").get(3) is boston


def test_many_to_one_lazy_load_looks_at_the_parents_shard(model, shard_engines,
                                                          make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, ch = make_sharded(shard_engines)
    counter = Counter(shard_engines)
    reports = s2.query(Report).order_by(Report.id).all()
    counter.reset()
    locs = [r.location for r in reports]
    assert [loc.city for loc in locs] == ["Oslo", "Oslo", "Rome", "Boston"]
    assert locs[0] is locs[1]
    # one SELECT per location, on its shard only (the chooser was given the report)
    assert counter.counts == {"eu": 2, "na": 1}
    lazy = [c[1] for c in ch.calls if c[0] == "identity"]
    assert lazy and all(frm is not None for _pk, frm in lazy)


# ---------------------------------------------------------------------------- queries


def test_query_concatenates_the_shards_results_each_tagged(model, shard_engines, make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, _ = make_sharded(shard_engines)
    counter = Counter(shard_engines)
    found = s2.query(Location).order_by(Location.id).all()
    assert [(o.city, inspect(o).identity_token) for o in found] == [
        ("Oslo", "eu"), ("Rome", "eu"), ("Boston", "na")]
    assert counter.counts == {"eu": 1, "na": 1}
    # the loaded objects are the identity map's
    assert s2.get(Location, 3) is found[2]
    # 2.x style, through session.execute()
    assert [o.city for o in s2.scalars(select(Location).order_by(Location.id)).all()] == [
        "Oslo", "Rome", "Boston"]
    tuples = s2.execute(select(Location.city, Report.temperature)
                        .join(Report.__table__, Report.location_id == Location.id)
                        .order_by(Report.id)).all()
    assert [tuple(t) for t in tuples] == [("Oslo", -3), ("Oslo", 2), ("Rome", 20),
                                          ("Boston", 5)]
    assert s2.query(Location.city).filter(Location.id > 1).order_by(Location.city).all() == [
        ("Rome",), ("Boston",)]


def test_execute_chooser_narrows_a_query_by_its_criteria(model, shard_engines, make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, ch = make_sharded(shard_engines)
    counter = Counter(shard_engines)
    found = s2.query(Location).filter(Location.continent == "europe").all()
    assert sorted(o.city for o in found) == ["Oslo", "Rome"]
    assert counter.counts == {"eu": 1, "na": 0}
    counter.reset()
    stmt = select(Location).where(Location.continent == "north_america")
    assert [o.city for o in s2.scalars(stmt)] == ["Boston"]
    assert counter.counts == {"eu": 0, "na": 1}
    executed = [c[1] for c in ch.calls if c[0] == "execute"]
    assert all(hasattr(st, "whereclause") for st in executed)


def test_set_shard_and_shard_id_option_restrict_a_query_to_one_shard(model, shard_engines,
                                                                     make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, ch = make_sharded(shard_engines)
    counter = Counter(shard_engines)
    q = s2.query(Location).order_by(Location.id)
    assert isinstance(q, ShardedQuery)
    assert [o.city for o in q.set_shard("na")] == ["Boston"]
    assert [o.city for o in q.execution_options(shard_id="eu")] == ["Oslo", "Rome"]
    assert [o.city for o in s2.scalars(select(Location).execution_options(shard_id="na"))] == [
        "Boston"]
    assert [o.city for o in s2.scalars(select(Location),
                                       execution_options={"shard_id": "eu"})] == ["Oslo", "Rome"]
    assert counter.counts == {"eu": 2, "na": 2}
    assert not [c for c in ch.calls if c[0] == "execute"]
    assert q.set_shard("na").first().city == "Boston"
    with pytest.raises(dm_exc.InvalidRequestError, match="'mars'.*'eu', 'na'"):
        q.set_shard("mars")


def test_set_shard_id_option_and_core_select_of_an_entity(model, shard_engines,
                                                         make_sharded):
    """SQLAlchemy 2.x's examples/sharding: ``sqlalchemy.select(Location)`` runs on the
    shards the execute_chooser names (it went to get_bind(), which asked the
    shard_chooser about no instance), and ``.options(set_shard_id(...))`` picks one."""
    from datamapper.sharding import set_shard_id

    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, ch = make_sharded(shard_engines)
    counter = Counter(shard_engines)
    core = sa.select(Location).order_by(Location.id)
    assert [o.city for o in s2.scalars(core)] == ["Oslo", "Rome", "Boston"]
    assert counter.counts == {"eu": 1, "na": 1}
    assert not [c for c in ch.calls if c[0] == "shard"]
    counter.reset()
    assert [o.city for o in s2.scalars(core.options(set_shard_id("na")))] == ["Boston"]
    assert [o.city for o in s2.scalars(select(Location).options(set_shard_id("eu"))
                                       .order_by(Location.id))] == ["Oslo", "Rome"]
    assert [o.city for o in s2.query(Location).options(set_shard_id("na"))] == ["Boston"]
    assert counter.counts == {"eu": 1, "na": 2}
    boston = s2.get(Location, 3)
    assert inspect(boston).identity_token == "na"


def test_count_sums_the_shards_and_aggregates_give_one_row_per_shard(model, shard_engines,
                                                                     make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, _ = make_sharded(shard_engines)
    assert s2.query(Location).count() == 3
    assert s2.query(Report).count() == 4
    assert s2.query(Location).set_shard("eu").count() == 2
    assert s2.query(Location).filter(Location.continent == "north_america").count() == 1
    # an aggregate column runs on each shard: one row per shard
    assert sorted(s2.query(func.count(Location.id)).all()) == [(1,), (2,)]
    with pytest.raises(dm_exc.MultipleResultsFound):
        s2.query(func.count(Location.id)).scalar()
    assert s2.query(func.count(Location.id)).set_shard("na").scalar() == 1
    assert sorted(s2.scalars(select(func.max(Report.temperature))).all()) == [5, 20]
    # first(): the first row of the first shard that has one
    assert s2.query(Location).order_by(Location.id.desc()).first().city == "Rome"


def test_bulk_update_and_delete_run_on_every_chosen_shard(model, shard_engines, make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    s2, _ = make_sharded(shard_engines)
    oslo, boston = s2.get(Location, 1), s2.get(Location, 3)
    n = s2.query(Location).filter(Location.id >= 1).update({"city": "X"})
    assert n == 3 and oslo.city == "X" and boston.city == "X"
    n = s2.query(Location).set_shard("na").update({"city": "Y"}, synchronize_session="fetch")
    assert n == 1 and boston.city == "Y" and oslo.city == "X"
    assert s2.query(Report).filter(Report.temperature > 10).delete() == 1
    s2.commit()
    assert [r[2] for r in rows(shard_engines["eu"], Location.__table__)] == ["X", "X"]
    assert [r[2] for r in rows(shard_engines["na"], Location.__table__)] == ["Y"]
    assert [r[0] for r in rows(shard_engines["eu"], Report.__table__)] == [10, 11]


def test_refresh_and_core_statements(model, shard_engines, make_sharded):
    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    boston = s.get(Location, 3)
    with shard_engines["na"].begin() as conn:
        conn.execute(sa.text("UPDATE sh_locations SET city = 'Salem' WHERE id = 3"))
    s.rollback()  # end the snapshot
    s.refresh(boston)
    assert boston.city == "Salem"
    # a Core statement goes where shard_chooser(mapper, None, clause=...) says (here "na")
    assert s.execute(sa.select(func.count()).select_from(Location.__table__)).scalar() == 1
    assert s.execute(sa.select(func.count()).select_from(Location.__table__),
                     execution_options={"shard_id": "eu"}).scalar() == 2
    assert s.connection(shard_id="eu").execute(
        sa.text("SELECT city FROM sh_locations WHERE id = 1")).scalar() == "Oslo"


# ---------------------------------------------------------------------------- bad input


def test_a_chooser_naming_an_unknown_shard_is_refused(model, shard_engines, make_sharded):
    Location, _ = model
    s = ShardedSession(shards=shard_engines, shard_chooser=lambda m, o, clause=None: "mars",
                       identity_chooser=lambda m, pk, **kw: ["moon"],
                       execute_chooser=lambda ctx: ["eu", "venus"])
    try:
        s.add(Location(id=5, continent="europe", city="Oslo"))
        with pytest.raises(dm_exc.InvalidRequestError) as info:
            s.flush()
        msg = str(info.value)
        assert "Location" in msg and "'mars'" in msg and "'eu', 'na'" in msg
        s.expunge_all()
        with pytest.raises(dm_exc.InvalidRequestError, match="'moon'.*'eu', 'na'"):
            s.get(Location, 1)
        with pytest.raises(dm_exc.InvalidRequestError, match="'venus'.*'eu', 'na'"):
            s.query(Location).all()
        assert rows(shard_engines["eu"], Location.__table__) == []
    finally:
        s.close()


def test_missing_choosers_are_refused_at_construction(shard_engines):
    with pytest.raises(dm_exc.ArgumentError,
                       match="shard_chooser, identity_chooser, execute_chooser"):
        ShardedSession(shards=shard_engines)
    with pytest.raises(dm_exc.ArgumentError, match="without execute_chooser"):
        ShardedSession(shards=shard_engines, shard_chooser=lambda *a, **k: "eu",
                       identity_chooser=lambda *a, **k: ["eu"])
    with pytest.raises(dm_exc.ArgumentError, match="both identity_chooser and id_chooser"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ShardedSession(shards=shard_engines, shard_chooser=lambda *a, **k: "eu",
                           identity_chooser=lambda *a, **k: ["eu"],
                           id_chooser=lambda q, ident: ["eu"],
                           execute_chooser=lambda ctx: ["eu"])


def test_old_chooser_names_work_with_a_deprecation_warning(model, shard_engines):
    Location, Report = model
    seen: dict[str, Any] = {}

    def id_chooser(query: Any, ident: Any) -> list[str]:
        seen["id"] = (type(query), list(ident))
        return ["na", "eu"]

    def query_chooser(query: Any) -> list[str]:
        seen["query"] = type(query)
        return ["eu"]

    with pytest.warns(DeprecationWarning) as record:
        s = ShardedSession(shards=shard_engines,
                           shard_chooser=lambda m, o, clause=None: "eu",
                           id_chooser=id_chooser, query_chooser=query_chooser)
    assert {str(w.message).split("(")[0] for w in record} == {"ShardedSession"}
    assert any("identity_chooser" in str(w.message) for w in record)
    assert any("execute_chooser" in str(w.message) for w in record)
    try:
        s.add(Location(id=1, continent="asia", city="Tokyo"))
        s.commit()
        s.expunge_all()
        assert s.get(Location, 1).city == "Tokyo"
        assert seen["id"] == (ShardedQuery, [1])
        assert [o.city for o in s.query(Location)] == ["Tokyo"]
        assert seen["query"] is ShardedQuery
    finally:
        s.close()


# ---------------------------------------------------------------- on this test's backend


@pytest.fixture
def server_shards(model, engine, other_engine) -> dict[str, Any]:
    Location, _ = model
    Location.metadata.create_all(engine)
    Location.metadata.create_all(other_engine)
    return {"eu": engine, "na": other_engine}


def test_sharding_over_two_databases_of_the_backend(model, server_shards, make_sharded,
                                                    backend_name):
    Location, Report = model
    s, _ = make_sharded(server_shards)
    _populate(s, Location, Report)
    s.add_all([Location(id=1, continent="asia", city="Seoul",
                        reports=[Report(id=10, temperature=30)])])
    s.commit()
    eu, na = server_shards["eu"], server_shards["na"]
    assert rows(eu, Location.__table__) == [(1, "europe", "Oslo"), (2, "europe", "Rome")]
    assert rows(na, Location.__table__) == [(1, "asia", "Seoul"),
                                            (3, "north_america", "Boston")]
    s2, _ = make_sharded(server_shards)
    oslo = s2.get(Location, 1)  # the first candidate shard that has it
    seoul = s2.get(Location, 1, identity_token="na")
    assert (oslo.city, seoul.city) == ("Oslo", "Seoul") and oslo is not seoul
    # from now on the identity map answers: a key held for any candidate shard wins
    assert s2.get(Location, 1) in (oslo, seoul)
    assert [r.temperature for r in seoul.reports] == [30]
    assert [r.temperature for r in oslo.reports] == [-3, 2]
    assert s2.query(Report).count() == 5
    seoul.city = "Busan"
    oslo.reports.append(Report(id=14, temperature=1))
    s2.flush()
    s2.rollback()
    assert rows(na, Location.__table__)[0] == (1, "asia", "Seoul")
    assert [r[0] for r in rows(eu, Report.__table__)] == [10, 11, 12]
    seoul = s2.get(Location, 1, identity_token="na")
    seoul.city = "Busan"
    s2.get(Location, 1, identity_token="eu").reports.append(Report(id=14, temperature=1))
    s2.commit()
    assert rows(na, Location.__table__)[0] == (1, "asia", "Busan")
    assert [r[0] for r in rows(eu, Report.__table__)] == [10, 11, 12, 14]
    s.close()
    s2.close()
    assert_released(eu, na)


def test_eager_loads_through_query_and_execute_tag_children_with_their_shard(
        model, shard_engines, make_sharded):
    from datamapper import joinedload, selectinload

    Location, Report = model
    s, _ = make_sharded(shard_engines)
    _populate(s, Location, Report)
    for how in ("query-selectin", "execute-selectin", "execute-joined"):
        s2, _ = make_sharded(shard_engines)
        if how == "query-selectin":
            found = s2.query(Location).options(selectinload(Location.reports)).all()
        else:
            opt = selectinload if how == "execute-selectin" else joinedload
            found = s2.scalars(select(Location).options(opt(Location.reports))).all()
        counter = Counter(shard_engines)
        by_city = {o.city: o for o in found}
        assert [r.id for r in by_city["Oslo"].reports] == [10, 11], how
        assert [r.id for r in by_city["Boston"].reports] == [13], how
        assert not any(counter.counts.values()), how  # loaded eagerly: no SQL on access
        for loc in found:
            token = inspect(loc).identity_token
            assert {inspect(r).identity_token for r in loc.reports} <= {token}, how
        assert s2.get(Report, 13, identity_token="na") is by_city["Boston"].reports[0]
