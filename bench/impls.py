"""The four implementations the benchmark compares, one workload per method.

- ``DatamapperImpl``: our ORM, through the public API of API.md only
  (``declarative_base``, ``Session``, ``query``, ``get``, ``add_all``,
  ``delete``, ``commit``, ``relationship``, ``select``, ``inspect``).
- ``SQLAlchemyORMImpl``: SQLAlchemy's own ORM, 2.x style, default settings.
- ``CoreImpl``: SQLAlchemy Core statements on a Connection.
- ``RawImpl``: the DB-API driver (sqlite3 / psycopg / pymysql) directly.

Every workload method has the signature ``(spec, meter) -> result``: it does
its untimed preparation, wraps exactly the measured region in
``meter.phase(...)`` (or ``meter.memory(...)``), performs the checks only it can
perform (object identities, identity-map hits) and returns a checksum of what
it loaded, which the runner compares with the expected one. Workloads that
write are verified by the runner from the database on a fresh connection.

The two ORMs share one code path (``ORMImpl``) so they run literally the same
Python code; only model definitions and the module they come from differ.
"""

import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    bindparam,
    delete,
    event,
    insert,
    select,
    update,
)

from backends import Backend, children, items, parents
from common import (
    WEB_ADDRESSES,
    Checksum,
    Meter,
    Skipped,
    Spec,
    TreeChecksum,
    VerificationError,
)

Result = Checksum | TreeChecksum | None

IMPL_NAMES = ("datamapper", "sqlalchemy", "core", "raw")


def _check_same(hits: list[Any], got: list[Any]) -> None:
    if hits != got:
        raise VerificationError("get (hit): dict lookup returned different rows")


def _same_checksums(sums: dict[str, Checksum]) -> Checksum:
    """The checksum all phases agree on (the runner checks it against the expected one)."""
    first, *rest = sums.items()
    for name, other in rest:
        first[1].check(other, f"{name} phase (vs {first[0]} phase)")
    return first[1]


def _same_tree_checksums(sums: dict[str, TreeChecksum]) -> TreeChecksum:
    """The tree checksum all phases agree on (the runner checks it against the expected one)."""
    first, *rest = sums.items()
    for name, other in rest:
        first[1].check(other, f"{name} phase (vs {first[0]} phase)")
    return first[1]


def _grouped(
    parent_rows: Sequence[Any], child_rows: Iterable[Any], key: int
) -> list[tuple[Any, list[Any]]]:
    """Each parent row with the child rows whose column ``key`` holds its id."""
    by_id: dict[Any, list[Any]] = {p[0]: [] for p in parent_rows}
    for c in child_rows:
        by_id[c[key]].append(c)
    return [(p, by_id[p[0]]) for p in parent_rows]


def _joined(rows: Iterable[Any]) -> list[tuple[Any, list[Any]]]:
    """Group ``(parent id, parent name, child id, child name, child value)`` rows of
    a LEFT OUTER JOIN by parent, in first-seen order; a parent without children
    has one row with NULL child columns."""
    out: dict[Any, tuple[Any, list[Any]]] = {}
    for row in rows:
        entry = out.get(row[0])
        if entry is None:
            entry = out[row[0]] = ((row[0], row[1]), [])
        if row[2] is not None:
            entry[1].append(row[2:])
    return list(out.values())


def _tree_of(loaded: list[tuple[Any, list[Any]]], cname: int) -> TreeChecksum:
    """From (parent row, child rows) pairs: the parent's name is its column 1, the
    child's name and value its columns ``cname`` and ``cname + 1``."""
    return TreeChecksum.of(
        len(loaded), ((p[1], c[cname], c[cname + 1]) for p, kids in loaded for c in kids)
    )


EAGER_PHASES = ("selectin", "joined")
EAGER_BATCH = 500  # parent ids per IN list: the batch size of both ORMs' selectinload


def _check_web(spec: Spec, loaded: int) -> None:
    if loaded != spec.n_web * WEB_ADDRESSES:
        raise VerificationError(
            f"web: {loaded} addresses loaded, expected {spec.n_web * WEB_ADDRESSES}"
        )


NO_SESSION = "ORM only (no session to hold objects)"


def count_statements(engine: Engine) -> "StatementCounter":
    return StatementCounter(engine)


class StatementCounter:
    """Counts cursor executions on an engine while active (a context manager)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _on_execute(self, *args: Any) -> None:
        self.count += 1

    def __enter__(self) -> "StatementCounter":
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)


class Impl:
    """Base class: one implementation bound to one backend."""

    name: str = ""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def close(self) -> None:
        pass

    def after_error(self) -> None:
        """Release whatever a failed run may have left behind."""

    def growth(self, spec: Spec, meter: Meter) -> Result:
        """Insert, load and update at each table size; every size starts from an
        empty table and is verified against the database before the next."""
        for size in spec.growth_sizes:
            self.backend.reset("items")
            self.backend.settle()
            data = spec.growth_items(size)
            label = f"{size:,}"
            inserted, loaded = self.grow(data, meter, label)
            spec.growth_checksum(size, 0).check(inserted, f"growth ({label}): after insert")
            spec.growth_checksum(size, 0).check(
                loaded.without_ids(), f"growth ({label}): loaded rows"
            )
            if loaded.count != size:
                raise VerificationError(f"growth ({label}): loaded {loaded.count} rows")
            spec.growth_checksum(size, 1).check(
                self.backend.item_checksum(), f"growth ({label}): after update"
            )
        return None

    def grow(self, data: list[Any], meter: Meter, label: str) -> tuple[Checksum, Checksum]:
        """Time phases ``<label> insert``, ``<label> load`` and ``<label> update``;
        return the database checksum after the insert (read outside the timed
        regions) and the checksum of what the load returned."""
        raise NotImplementedError


# ---------------------------------------------------------------------------
# ORMs
# ---------------------------------------------------------------------------


class ORMImpl(Impl):
    """Workloads written once against the API both ORMs share."""

    Session: Any
    Item: Any
    select: Callable[..., Any] | None

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.engine = backend.make_engine()
        self.engine.connect().close()  # open the pooled connection up front

    def close(self) -> None:
        self.engine.dispose()

    def after_error(self) -> None:
        self.engine.dispose()

    # hooks -------------------------------------------------------------------
    can_inspect = True

    def identity(self, obj: object) -> int | None:
        """The primary key the session holds for ``obj``, read without loading
        anything (``inspect(obj).identity``); None if it has none."""
        raise NotImplementedError

    def tree_models(self) -> tuple[Any, Any]:
        raise NotImplementedError

    # workloads ---------------------------------------------------------------
    def insert(self, spec: Spec, meter: Meter) -> Result:
        Item = self.Item
        with self.Session(self.engine) as session:
            with meter.phase():
                objs = [Item(name=n, value=v, score=s, note=t) for n, v, s, t in spec.items]
                session.add_all(objs)
                session.commit()
            self._check_inserted_identities(spec, objs)
        return None

    def _check_inserted_identities(self, spec: Spec, objs: list[Any]) -> None:
        """Each object must have the id of the row holding its own data."""
        names = self.backend.item_names()
        if self.can_inspect:
            ids = [self.identity(o) for o in objs]
            for k, pk in enumerate(ids):
                if pk is None:
                    raise VerificationError(
                        f"insert: object {spec.items[k][0]!r} has no identity after commit"
                    )
            if len(set(ids)) != len(ids):
                raise VerificationError("insert: several objects share one primary key")
            pairs: list[tuple[Any, str]] = list(
                zip(ids, (row[0] for row in spec.items), strict=True)
            )
        else:  # no inspect(): sample through the attribute (refreshes each object)
            step = max(1, len(objs) // 100)
            pairs = [(objs[k].id, spec.items[k][0]) for k in range(0, len(objs), step)]
        for pk, name in pairs:
            if names.get(pk) != name:
                raise VerificationError(
                    f"insert: object {name!r} has id {pk!r}, but that row holds"
                    f" {names.get(pk)!r} (generated keys matched to the wrong objects?)"
                )

    def load(self, spec: Spec, meter: Meter) -> Result:
        with self.Session(self.engine) as session:
            with meter.phase():
                objs = session.query(self.Item).all()
            return Checksum.of_objects(objs)

    def load_select(self, spec: Spec, meter: Meter) -> Result:
        if self.select is None:
            raise Skipped(f"{self.name} has no select() yet")
        stmt = self.select(self.Item)
        with self.Session(self.engine) as session:
            with meter.phase():
                objs = session.scalars(stmt).all()
            return Checksum.of_objects(objs)

    def short(self, spec: Spec, meter: Meter) -> Result:
        if self.select is None:
            raise Skipped(f"{self.name} has no select() yet")
        Item, select_, ranges = self.Item, self.select, spec.short_ranges()
        loaded: dict[str, list[Any]] = {}
        with self.Session(self.engine) as session:
            with meter.phase("query"):
                loaded["query"] = [
                    obj
                    for lo, hi in ranges
                    for obj in session.query(Item).filter(Item.id >= lo, Item.id < hi).all()
                ]
        with self.Session(self.engine) as session:
            with meter.phase("select"):
                loaded["select"] = [
                    obj
                    for lo, hi in ranges
                    for obj in session.scalars(
                        select_(Item).where(Item.id >= lo, Item.id < hi)
                    ).all()
                ]
        return _same_checksums({k: Checksum.of_objects(v) for k, v in loaded.items()})

    def get(self, spec: Spec, meter: Meter) -> Result:
        Item, ids = self.Item, spec.get_ids
        with self.Session(self.engine) as session:
            get = session.get
            with meter.phase("miss"):
                got = [get(Item, i) for i in ids]
            if any(o is None for o in got):
                raise VerificationError("get (miss): session.get returned None for a stored row")
            with count_statements(self.engine) as counter, meter.phase("hit"):
                hits = [get(Item, i) for i in ids]
            if counter.count:
                raise VerificationError(
                    f"get (hit): {counter.count} statements for identity-map hits (expected 0)"
                )
            if any(a is not b for a, b in zip(got, hits, strict=True)):
                raise VerificationError("get (hit): identity map returned a different object")
            return Checksum.of_objects(got)

    def update(self, spec: Spec, meter: Meter) -> Result:
        with self.Session(self.engine) as session:
            objs = session.query(self.Item).all()
            with meter.phase():
                for o in objs:
                    o.value += 1
                session.commit()
        return None

    def delete(self, spec: Spec, meter: Meter) -> Result:
        with self.Session(self.engine) as session:
            objs = session.query(self.Item).all()
            victims = [o for o in objs if o.id % 2 == 0]
            if len(victims) != spec.n_delete:
                raise VerificationError(
                    f"delete: loaded {len(victims)} even ids, expected {spec.n_delete}"
                )
            with meter.phase():
                for o in victims:
                    session.delete(o)
                session.commit()
        return None

    def bulk(self, spec: Spec, meter: Meter) -> Result:
        Item = self.Item
        with self.Session(self.engine) as session:
            with meter.phase("insert"):
                session.execute(
                    insert(Item),
                    [{"name": n, "value": v, "score": s, "note": t} for n, v, s, t in spec.items],
                )
                session.commit()
            current = session.execute(select(Item.id, Item.value)).all()
            session.rollback()
            with meter.phase("update"):
                session.execute(update(Item), [{"id": pk, "value": v + 1} for pk, v in current])
                session.commit()
        return None

    def memory(self, spec: Spec, meter: Meter) -> Result:
        with self.Session(self.engine) as session:
            with meter.memory():
                objs = session.query(self.Item).all()
            return Checksum.of_objects(objs)

    def grow(self, data: list[Any], meter: Meter, label: str) -> tuple[Checksum, Checksum]:
        Item = self.Item
        with self.Session(self.engine) as session:
            with meter.phase(f"{label} insert"):
                objs = [Item(name=n, value=v, score=s, note=t) for n, v, s, t in data]
                session.add_all(objs)
                session.commit()
        del objs
        inserted = self.backend.item_checksum()
        with self.Session(self.engine) as session:
            with meter.phase(f"{label} load"):
                objs = session.query(Item).all()
            loaded = Checksum.of_objects(objs)
            with meter.phase(f"{label} update"):
                for o in objs:
                    o.value += 1
                session.commit()
        return inserted, loaded

    def tree(self, spec: Spec, meter: Meter) -> Result:
        Parent, Child = self.tree_models()
        with self.Session(self.engine) as session:
            with meter.phase():
                objs = [
                    Parent(name=pname, children=[Child(name=c, value=v) for c, v in kids])
                    for pname, kids in spec.tree
                ]
                session.add_all(objs)
                session.commit()
        return None

    def lazy(self, spec: Spec, meter: Meter) -> Result:
        Parent, _ = self.tree_models()
        with self.Session(self.engine) as session:
            with meter.phase():
                loaded = [(p, p.children) for p in session.query(Parent).all()]
            return TreeChecksum.of(
                len(loaded), ((p.name, c.name, c.value) for p, kids in loaded for c in kids)
            )

    def eager(self, spec: Spec, meter: Meter) -> Result:
        Parent, _ = self.tree_models()
        sums: dict[str, TreeChecksum] = {}
        for phase in EAGER_PHASES:
            option = self.eager_option(phase)
            with self.Session(self.engine) as session:
                with meter.phase(phase):
                    loaded = session.query(Parent).options(option(Parent.children)).all()
                with count_statements(self.engine) as counter:
                    sums[phase] = TreeChecksum.of(
                        len(loaded),
                        ((p.name, c.name, c.value) for p in loaded for c in p.children),
                    )
                if counter.count:
                    raise VerificationError(
                        f"eager ({phase}): reading the loaded children ran"
                        f" {counter.count} statements (expected 0)"
                    )
        return _same_tree_checksums(sums)

    def eager_option(self, phase: str) -> Callable[..., Any]:
        """The loader option of ``phase`` ("selectin" or "joined")."""
        raise NotImplementedError

    def web(self, spec: Spec, meter: Meter) -> Result:
        Parent, Child = self.tree_models()
        Session, engine, requests = self.Session, self.engine, spec.web_requests()
        loaded = 0
        with meter.phase():
            for pid, new_name, child_name, child_value in requests:
                with Session(engine) as session:
                    user = session.get(Parent, pid)
                    addresses = user.children  # lazy load
                    loaded += len(addresses)
                    user.name = new_name
                    addresses.append(Child(name=child_name, value=child_value))
                    session.commit()
        _check_web(spec, loaded)
        return None

    def large(self, spec: Spec, meter: Meter) -> Result:
        Item = self.Item
        for size in spec.large_sizes:
            with self.Session(self.engine) as session:
                objs = session.query(Item).filter(Item.id <= size).all()
                if len(objs) != size:
                    raise VerificationError(f"large: loaded {len(objs)} objects, expected {size}")
                by_id = {o.id: o for o in objs}
                changed = [by_id[pk] for pk in spec.large_changed(size)]
                ranges = spec.large_ranges(size)
                with meter.phase(f"{size:,} flush"):
                    for obj in changed:
                        obj.value += 1
                        session.flush()
                with meter.phase(f"{size:,} query"):
                    got = [
                        session.query(Item).filter(Item.id >= lo, Item.id < hi).all()
                        for lo, hi in ranges
                    ]
                for (lo, hi), rows in zip(ranges, got, strict=True):
                    want = {id(by_id[pk]) for pk in range(lo, hi)}
                    if len(rows) != hi - lo or {id(o) for o in rows} != want:
                        raise VerificationError(
                            f"large ({size:,}): query of ids {lo}..{hi - 1} did not return"
                            " the identity-map objects"
                        )
                with meter.phase(f"{size:,} commit"):
                    session.commit()
                first = changed[0]  # expired by the commit: reloads from the database
                if first.value != spec.items[first.id - 1][1] + spec.large_sizes.index(size) + 1:
                    raise VerificationError(f"large ({size:,}): object {first.id} reloaded wrong")
        return None


class SQLAlchemyORMImpl(ORMImpl):
    name = "sqlalchemy"

    def __init__(self, backend: Backend) -> None:
        from sqlalchemy import inspect
        from sqlalchemy.orm import Session

        import sa_models

        super().__init__(backend)
        self.Session = Session
        self.Item = sa_models.Item
        self.select = select
        self._models = sa_models
        self._inspect = inspect

    def identity(self, obj: object) -> int | None:
        ident = self._inspect(obj).identity
        return None if ident is None else int(ident[0])

    def tree_models(self) -> tuple[Any, Any]:
        return self._models.Parent, self._models.Child

    def eager_option(self, phase: str) -> Callable[..., Any]:
        from sqlalchemy.orm import joinedload, selectinload

        return selectinload if phase == "selectin" else joinedload


def import_datamapper() -> Any:
    """Import datamapper, preferring the working tree's src/ over an install."""
    src = Path(__file__).resolve().parent.parent / "src"
    if (src / "datamapper").is_dir() and str(src) not in sys.path:
        sys.path.insert(0, str(src))
    import datamapper

    return datamapper


class DatamapperImpl(ORMImpl):
    name = "datamapper"

    def __init__(self, backend: Backend) -> None:
        dm = import_datamapper()
        super().__init__(backend)
        self.dm = dm
        self.Session = dm.Session
        self.select = getattr(dm, "select", None)
        self._inspect = getattr(dm, "inspect", None)
        self.can_inspect = self._inspect is not None
        self._tree: tuple[Any, Any] | None = None

        Base: Any = dm.declarative_base()

        class Item(Base):  # type: ignore[misc]
            __tablename__ = "bench_item"
            id = Column(Integer, primary_key=True)
            name = Column(String(50), nullable=False)
            value = Column(Integer, nullable=False)
            score = Column(Float, nullable=False)
            note = Column(String(100))

        self.Item = Item

    def identity(self, obj: object) -> int | None:
        assert self._inspect is not None
        ident = self._inspect(obj).identity
        return None if ident is None else int(ident[0])

    def tree_models(self) -> tuple[Any, Any]:
        if self._tree is not None:
            return self._tree
        relationship: Any = getattr(self.dm, "relationship", None)
        if relationship is None:
            raise Skipped("datamapper has no relationship() yet")
        Base: Any = self.dm.declarative_base()

        class Child(Base):  # type: ignore[misc]
            __tablename__ = "bench_child"
            id = Column(Integer, primary_key=True)
            parent_id = Column(Integer, ForeignKey("bench_parent.id"), nullable=False)
            name = Column(String(50), nullable=False)
            value = Column(Integer, nullable=False)

        class Parent(Base):  # type: ignore[misc]
            __tablename__ = "bench_parent"
            id = Column(Integer, primary_key=True)
            name = Column(String(50), nullable=False)
            children = relationship(Child)

        self._tree = (Parent, Child)
        return self._tree

    def eager_option(self, phase: str) -> Callable[..., Any]:
        name = "selectinload" if phase == "selectin" else "joinedload"
        option = getattr(self.dm, name, None)
        if option is None:
            raise Skipped(f"datamapper has no {name}() yet")
        return option


# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------


class CoreImpl(Impl):
    name = "core"

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.engine = backend.make_engine()
        self.engine.connect().close()

    def close(self) -> None:
        self.engine.dispose()

    def after_error(self) -> None:
        self.engine.dispose()

    def insert(self, spec: Spec, meter: Meter) -> Result:
        stmt = insert(items)
        with meter.phase():
            with self.engine.connect() as conn:
                conn.execute(
                    stmt,
                    [{"name": n, "value": v, "score": s, "note": t} for n, v, s, t in spec.items],
                )
                conn.commit()
        return None

    def load(self, spec: Spec, meter: Meter) -> Result:
        stmt = select(items)
        with meter.phase():
            with self.engine.connect() as conn:
                rows = conn.execute(stmt).all()
        return Checksum.of(rows)

    load_select = load

    def short(self, spec: Spec, meter: Meter) -> Result:
        # the statement is built per query as an application would; Core's
        # compiled cache makes the structure compile once
        ranges, c = spec.short_ranges(), items.c
        loaded: dict[str, list[Any]] = {}
        for phase in ("query", "select"):
            with meter.phase(phase), self.engine.connect() as conn:
                execute = conn.execute
                loaded[phase] = [
                    row
                    for lo, hi in ranges
                    for row in execute(select(items).where(c.id >= lo, c.id < hi)).all()
                ]
        return _same_checksums({k: Checksum.of(v) for k, v in loaded.items()})

    def get(self, spec: Spec, meter: Meter) -> Result:
        stmt = select(items).where(items.c.id == bindparam("pk"))
        ids = spec.get_ids
        with self.engine.connect() as conn:
            execute = conn.execute
            with meter.phase("miss"):
                got = [execute(stmt, {"pk": i}).one() for i in ids]
        by_id = {row.id: row for row in got}  # the "identity map" of Core: a dict
        with meter.phase("hit"):
            hits = [by_id[i] for i in ids]
        _check_same(hits, got)
        return Checksum.of(got)

    def update(self, spec: Spec, meter: Meter) -> Result:
        stmt = update(items).where(items.c.id == bindparam("pk")).values(value=bindparam("v"))
        with self.engine.connect() as conn:
            current = conn.execute(select(items.c.id, items.c.value)).all()
            with meter.phase():
                conn.execute(stmt, [{"pk": pk, "v": v + 1} for pk, v in current])
                conn.commit()
        return None

    def delete(self, spec: Spec, meter: Meter) -> Result:
        stmt = delete(items).where(items.c.id == bindparam("pk"))
        with self.engine.connect() as conn:
            ids = [pk for pk in conn.execute(select(items.c.id)).scalars() if pk % 2 == 0]
            with meter.phase():
                conn.execute(stmt, [{"pk": pk} for pk in ids])
                conn.commit()
        return None

    def bulk(self, spec: Spec, meter: Meter) -> Result:
        with self.engine.connect() as conn:
            with meter.phase("insert"):
                conn.execute(
                    insert(items),
                    [{"name": n, "value": v, "score": s, "note": t} for n, v, s, t in spec.items],
                )
                conn.commit()
            current = conn.execute(select(items.c.id, items.c.value)).all()
            conn.rollback()
            stmt = update(items).where(items.c.id == bindparam("pk")).values(value=bindparam("v"))
            with meter.phase("update"):
                conn.execute(stmt, [{"pk": pk, "v": v + 1} for pk, v in current])
                conn.commit()
        return None

    def memory(self, spec: Spec, meter: Meter) -> Result:
        stmt = select(items)
        with self.engine.connect() as conn:
            with meter.memory():
                rows = conn.execute(stmt).all()
            return Checksum.of(rows)

    def grow(self, data: list[Any], meter: Meter, label: str) -> tuple[Checksum, Checksum]:
        upd = update(items).where(items.c.id == bindparam("pk")).values(value=bindparam("v"))
        with self.engine.connect() as conn:
            with meter.phase(f"{label} insert"):
                conn.execute(
                    insert(items),
                    [{"name": n, "value": v, "score": s, "note": t} for n, v, s, t in data],
                )
                conn.commit()
        inserted = self.backend.item_checksum()
        with self.engine.connect() as conn:
            with meter.phase(f"{label} load"):
                rows = conn.execute(select(items)).all()
            loaded = Checksum.of(rows)
            with meter.phase(f"{label} update"):
                conn.execute(upd, [{"pk": r.id, "v": r.value + 1} for r in rows])
                conn.commit()
        return inserted, loaded

    def tree(self, spec: Spec, meter: Meter) -> Result:
        dialect = self.engine.dialect
        ordered = dialect.insert_executemany_returning_sort_by_parameter_order
        with meter.phase():
            with self.engine.begin() as conn:
                pvalues = [{"name": pname} for pname, _ in spec.tree]
                pids: Sequence[Any]
                if ordered:
                    stmt = insert(parents).returning(parents.c.id, sort_by_parameter_order=True)
                    pids = conn.execute(stmt, pvalues).scalars().all()
                else:
                    pids = [
                        conn.execute(insert(parents), v).inserted_primary_key[0]  # type: ignore[index]
                        for v in pvalues
                    ]
                conn.execute(
                    insert(children),
                    [
                        {"parent_id": pid, "name": c, "value": v}
                        for pid, (_, kids) in zip(pids, spec.tree, strict=True)
                        for c, v in kids
                    ],
                )
        return None

    def lazy(self, spec: Spec, meter: Meter) -> Result:
        stmt = select(children).where(children.c.parent_id == bindparam("pid"))
        with meter.phase():
            with self.engine.connect() as conn:
                loaded = [
                    (p, conn.execute(stmt, {"pid": p.id}).all())
                    for p in conn.execute(select(parents)).all()
                ]
        return TreeChecksum.of(
            len(loaded), ((p.name, c.name, c.value) for p, kids in loaded for c in kids)
        )

    def eager(self, spec: Spec, meter: Meter) -> Result:
        # selectin: the parents, then their children by IN lists of parent ids;
        # joined: one LEFT OUTER JOIN, grouped by parent
        sel_children = select(children).where(
            children.c.parent_id.in_(bindparam("pids", expanding=True))
        )
        joined = select(
            parents.c.id, parents.c.name, children.c.id, children.c.name, children.c.value
        ).select_from(parents.outerjoin(children, children.c.parent_id == parents.c.id))
        sums: dict[str, TreeChecksum] = {}
        with self.engine.connect() as conn:
            execute = conn.execute
            with meter.phase("selectin"):
                prows = execute(select(parents)).all()
                ids = [p.id for p in prows]
                kids = [
                    row
                    for k in range(0, len(ids), EAGER_BATCH)
                    for row in execute(sel_children, {"pids": ids[k : k + EAGER_BATCH]})
                ]
                loaded = _grouped(prows, kids, 1)
            sums["selectin"] = _tree_of(loaded, 2)
            with meter.phase("joined"):
                loaded = _joined(execute(joined))
            sums["joined"] = _tree_of(loaded, 1)
        return _same_tree_checksums(sums)

    def web(self, spec: Spec, meter: Meter) -> Result:
        sel_user = select(parents).where(parents.c.id == bindparam("pid"))
        sel_addresses = select(children).where(children.c.parent_id == bindparam("pid"))
        upd_user = update(parents).where(parents.c.id == bindparam("pid"))
        ins_address = insert(children)
        engine, requests = self.engine, spec.web_requests()
        loaded = 0
        with meter.phase():
            for pid, new_name, child_name, child_value in requests:
                with engine.connect() as conn:
                    user = conn.execute(sel_user, {"pid": pid}).one()
                    addresses = conn.execute(sel_addresses, {"pid": user.id}).all()
                    loaded += len(addresses)
                    conn.execute(upd_user, {"pid": pid, "name": new_name})
                    conn.execute(
                        ins_address, {"parent_id": pid, "name": child_name, "value": child_value}
                    )
                    conn.commit()
        _check_web(spec, loaded)
        return None

    def large(self, spec: Spec, meter: Meter) -> Result:
        raise Skipped(NO_SESSION)


# ---------------------------------------------------------------------------
# Raw DB-API
# ---------------------------------------------------------------------------


class RawImpl(Impl):
    """The driver itself: one persistent connection, opened outside timing
    (as the engines' pools are), default driver settings."""

    name = "raw"

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.conn = backend.raw_connect()
        q = backend.sql
        cols = "id, name, value, score, note"
        self.sql_insert = q("INSERT INTO bench_item (name, value, score, note) VALUES (?, ?, ?, ?)")
        self.sql_all = f"SELECT {cols} FROM bench_item"
        self.sql_get = q(f"SELECT {cols} FROM bench_item WHERE id = ?")
        self.sql_short = q(f"SELECT {cols} FROM bench_item WHERE id >= ? AND id < ?")
        self.sql_update = q("UPDATE bench_item SET value = ? WHERE id = ?")
        self.sql_delete = q("DELETE FROM bench_item WHERE id = ?")
        self.sql_parent = q("INSERT INTO bench_parent (name) VALUES (?)")
        self.sql_child = q("INSERT INTO bench_child (parent_id, name, value) VALUES (?, ?, ?)")
        self.sql_children = q(
            "SELECT id, parent_id, name, value FROM bench_child WHERE parent_id = ?"
        )
        self.sql_user = q("SELECT id, name FROM bench_parent WHERE id = ?")
        self.sql_rename = q("UPDATE bench_parent SET name = ? WHERE id = ?")

    def close(self) -> None:
        self.conn.close()

    def after_error(self) -> None:
        self.conn.rollback()

    def _end(self) -> None:
        # End the read transaction (psycopg/pymysql open one for SELECTs) so
        # that the next reset is not blocked; never timed.
        self.conn.rollback()

    def insert(self, spec: Spec, meter: Meter) -> Result:
        with meter.phase():
            cur = self.conn.cursor()
            cur.executemany(self.sql_insert, list(spec.items))
            self.conn.commit()
        return None

    def load(self, spec: Spec, meter: Meter) -> Result:
        with meter.phase():
            cur = self.conn.cursor()
            cur.execute(self.sql_all)
            rows = cur.fetchall()
        self._end()
        return Checksum.of(rows)

    load_select = load

    def short(self, spec: Spec, meter: Meter) -> Result:
        ranges, sql = spec.short_ranges(), self.sql_short
        loaded: dict[str, list[Any]] = {}
        for phase in ("query", "select"):
            with meter.phase(phase):
                cur = self.conn.cursor()
                out: list[Any] = []
                for lo, hi in ranges:
                    cur.execute(sql, (lo, hi))
                    out.extend(cur.fetchall())
                loaded[phase] = out
            self._end()
        return _same_checksums({k: Checksum.of(v) for k, v in loaded.items()})

    def get(self, spec: Spec, meter: Meter) -> Result:
        ids, sql = spec.get_ids, self.sql_get
        cur = self.conn.cursor()
        with meter.phase("miss"):
            got = []
            for i in ids:
                cur.execute(sql, (i,))
                got.append(cur.fetchone())
        self._end()
        by_id = {row[0]: row for row in got}
        with meter.phase("hit"):
            hits = [by_id[i] for i in ids]
        _check_same(hits, got)
        return Checksum.of(got)

    def update(self, spec: Spec, meter: Meter) -> Result:
        cur = self.conn.cursor()
        cur.execute("SELECT id, value FROM bench_item")
        current = cur.fetchall()
        with meter.phase():
            cur.executemany(self.sql_update, [(v + 1, pk) for pk, v in current])
            self.conn.commit()
        return None

    def bulk(self, spec: Spec, meter: Meter) -> Result:
        cur = self.conn.cursor()
        with meter.phase("insert"):
            cur.executemany(self.sql_insert, list(spec.items))
            self.conn.commit()
        cur.execute("SELECT id, value FROM bench_item")
        current = cur.fetchall()
        self._end()
        with meter.phase("update"):
            cur.executemany(self.sql_update, [(v + 1, pk) for pk, v in current])
            self.conn.commit()
        return None

    def delete(self, spec: Spec, meter: Meter) -> Result:
        cur = self.conn.cursor()
        cur.execute("SELECT id FROM bench_item")
        ids = [pk for (pk,) in cur.fetchall() if pk % 2 == 0]
        with meter.phase():
            cur.executemany(self.sql_delete, [(pk,) for pk in ids])
            self.conn.commit()
        return None

    def memory(self, spec: Spec, meter: Meter) -> Result:
        cur = self.conn.cursor()
        with meter.memory():
            cur.execute(self.sql_all)
            rows = cur.fetchall()
        self._end()
        return Checksum.of(rows)

    def grow(self, data: list[Any], meter: Meter, label: str) -> tuple[Checksum, Checksum]:
        cur = self.conn.cursor()
        with meter.phase(f"{label} insert"):
            cur.executemany(self.sql_insert, data)
            self.conn.commit()
        inserted = self.backend.item_checksum()
        with meter.phase(f"{label} load"):
            cur.execute(self.sql_all)
            rows = cur.fetchall()
        loaded = Checksum.of(rows)
        with meter.phase(f"{label} update"):
            cur.executemany(self.sql_update, [(r[2] + 1, r[0]) for r in rows])
            self.conn.commit()
        return inserted, loaded

    def tree(self, spec: Spec, meter: Meter) -> Result:
        with meter.phase():
            cur = self.conn.cursor()
            if self.backend.name == "postgresql":
                # psycopg 3: one pipelined executemany, RETURNING in input order
                cur.executemany(
                    self.sql_parent + " RETURNING id", [(p,) for p, _ in spec.tree], returning=True
                )
                pids = []
                while True:
                    pids.append(cur.fetchone()[0])
                    if not cur.nextset():
                        break
            else:
                pids = []
                for pname, _ in spec.tree:
                    cur.execute(self.sql_parent, (pname,))
                    pids.append(cur.lastrowid)
            cur.executemany(
                self.sql_child,
                [
                    (pid, c, v)
                    for pid, (_, kids) in zip(pids, spec.tree, strict=True)
                    for c, v in kids
                ],
            )
            self.conn.commit()
        return None

    def lazy(self, spec: Spec, meter: Meter) -> Result:
        sql = self.sql_children
        with meter.phase():
            cur = self.conn.cursor()
            cur.execute("SELECT id, name FROM bench_parent")
            loaded = []
            for p in cur.fetchall():
                cur.execute(sql, (p[0],))
                loaded.append((p, cur.fetchall()))
        self._end()
        return TreeChecksum.of(
            len(loaded), ((p[1], c[2], c[3]) for p, kids in loaded for c in kids)
        )

    def eager(self, spec: Spec, meter: Meter) -> Result:
        sql_children = "SELECT id, parent_id, name, value FROM bench_child WHERE parent_id IN ({})"
        mark = self.backend.placeholder
        sql_joined = (
            "SELECT p.id, p.name, c.id, c.name, c.value FROM bench_parent p"
            " LEFT OUTER JOIN bench_child c ON c.parent_id = p.id"
        )
        sums: dict[str, TreeChecksum] = {}
        cur = self.conn.cursor()
        with meter.phase("selectin"):
            cur.execute("SELECT id, name FROM bench_parent")
            prows = cur.fetchall()
            ids = [p[0] for p in prows]
            kids: list[Any] = []
            for k in range(0, len(ids), EAGER_BATCH):
                batch = ids[k : k + EAGER_BATCH]
                cur.execute(sql_children.format(", ".join([mark] * len(batch))), batch)
                kids.extend(cur.fetchall())
            loaded = _grouped(prows, kids, 1)
        sums["selectin"] = _tree_of(loaded, 2)
        with meter.phase("joined"):
            cur.execute(sql_joined)
            loaded = _joined(cur.fetchall())
        sums["joined"] = _tree_of(loaded, 1)
        self._end()
        return _same_tree_checksums(sums)

    def web(self, spec: Spec, meter: Meter) -> Result:
        conn, loaded = self.conn, 0
        sql_user, sql_children = self.sql_user, self.sql_children
        sql_rename, sql_child = self.sql_rename, self.sql_child
        with meter.phase():
            for pid, new_name, child_name, child_value in spec.web_requests():
                cur = conn.cursor()
                cur.execute(sql_user, (pid,))
                user = cur.fetchone()
                cur.execute(sql_children, (user[0],))
                loaded += len(cur.fetchall())
                cur.execute(sql_rename, (new_name, pid))
                cur.execute(sql_child, (pid, child_name, child_value))
                conn.commit()
        _check_web(spec, loaded)
        return None

    def large(self, spec: Spec, meter: Meter) -> Result:
        raise Skipped(NO_SESSION)


IMPLS: dict[str, type[Impl]] = {
    "datamapper": DatamapperImpl,
    "sqlalchemy": SQLAlchemyORMImpl,
    "core": CoreImpl,
    "raw": RawImpl,
}
