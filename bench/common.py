"""Shared pieces of the datamapper benchmark harness.

Deterministic test data, the checksums every workload is verified against,
the ``Meter`` that times (or memory-profiles) the measured region of a run, and
the exceptions the runner distinguishes: a ``VerificationError`` (a wrong
result: the whole run aborts) and ``Skipped`` (an implementation cannot run a
workload yet, e.g. datamapper without ``relationship()``).
"""

import gc
import random
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

# (name, value, score, note) of one bench_item row; the id is generated.
ItemData = tuple[str, int, float, str | None]
# (id, name, value, score, note)
ItemRow = tuple[int, str, int, float, str | None]
# (parent name, [(child name, child value), ...])
TreeData = tuple[str, list[tuple[str, int]]]

CHILDREN_PER_PARENT = 10
SHORT_ROWS = 10  # rows per query of the "short" workload
WEB_ADDRESSES = 5  # addresses (children) per user of the "web" workload
LARGE_OPS = 100  # single-object flushes and 10-row queries per size of "large"


class VerificationError(AssertionError):
    """A workload produced a wrong result; its timing must not count."""


class Skipped(Exception):  # noqa: N818 - reads better in the report
    """An implementation cannot run this workload (yet)."""


def item_data(i: int) -> ItemData:
    """Row ``i`` (1-based) of the seeded / inserted data set."""
    name = f"item-{i}-" + "abcdefgh"[: i % 9]
    value = (i * 7919) % 10007
    score = i / 8  # exact in binary floating point, so sums are exact
    note = None if i % 10 == 0 else f"note {i:07d}" + "." * (i % 13)
    return name, value, score, note


def tree_data(n_parents: int, per_parent: int = CHILDREN_PER_PARENT) -> list[TreeData]:
    return [
        (
            f"parent-{p}",
            [(f"parent-{p}/c{j}", (p * 31 + j) % 101) for j in range(per_parent)],
        )
        for p in range(1, n_parents + 1)
    ]


@dataclass(frozen=True)
class Checksum:
    """Aggregate fingerprint of a set of bench_item rows.

    ``sum_id=None`` in an expectation means "ids are not checked" (inserted
    rows: the database picks them).
    """

    count: int
    sum_id: int | None
    sum_value: int
    sum_name_len: int
    sum_note_len: int
    sum_score: float

    @classmethod
    def of(cls, rows: Iterable[Sequence[object]]) -> "Checksum":
        """From ``(id, name, value, score, note)`` sequences (tuples, Rows)."""
        count = sum_id = sum_value = sum_name = sum_note = 0
        sum_score = 0.0
        for id_, name, value, score, note in rows:
            count += 1
            sum_id += id_  # type: ignore[operator]
            sum_value += value  # type: ignore[operator]
            sum_name += len(name)  # type: ignore[arg-type]
            sum_note += len(note) if note is not None else 0  # type: ignore[arg-type]
            sum_score += score  # type: ignore[operator]
        return cls(count, sum_id, sum_value, sum_name, sum_note, sum_score)

    @classmethod
    def of_objects(cls, objs: Iterable[object]) -> "Checksum":
        return cls.of(
            (o.id, o.name, o.value, o.score, o.note)  # type: ignore[attr-defined]
            for o in objs
        )

    def without_ids(self) -> "Checksum":
        return Checksum(
            self.count, None, self.sum_value, self.sum_name_len, self.sum_note_len, self.sum_score
        )

    def check(self, actual: "Checksum", what: str) -> None:
        wrong = []
        for f in fields(self):
            want, got = getattr(self, f.name), getattr(actual, f.name)
            if want is None:
                continue
            if isinstance(want, float):
                ok = abs(want - got) <= 1e-6 * max(1.0, abs(want))
            else:
                ok = want == got
            if not ok:
                wrong.append(f"{f.name}: expected {want!r}, got {got!r}")
        if wrong:
            raise VerificationError(f"{what}: " + "; ".join(wrong))


@dataclass(frozen=True)
class TreeChecksum:
    """Fingerprint of parents and their children.

    ``correlated`` counts children whose name starts with their own parent's
    name: it proves every child is attached to the right parent.
    """

    parents: int
    children: int
    sum_value: int
    sum_name_len: int
    correlated: int

    @classmethod
    def of(cls, n_parents: int, triples: Iterable[tuple[str, str, int]]) -> "TreeChecksum":
        """From ``(parent name, child name, child value)`` triples."""
        children = sum_value = sum_name = correlated = 0
        for parent_name, child_name, value in triples:
            children += 1
            sum_value += value
            sum_name += len(child_name)
            if child_name.startswith(parent_name + "/"):
                correlated += 1
        return cls(n_parents, children, sum_value, sum_name, correlated)

    def check(self, actual: "TreeChecksum", what: str) -> None:
        if self != actual:
            raise VerificationError(f"{what}: expected {self}, got {actual}")


@dataclass
class Spec:
    """Sizes and data of one benchmark run (shared by every implementation)."""

    n: int
    seed: int = 42
    growth: tuple[int, ...] | None = None  # sizes of the "growth" workload; None: from n
    items: list[ItemData] = field(init=False)
    get_ids: list[int] = field(init=False)
    tree: list[TreeData] = field(init=False)
    web_tree: list[TreeData] = field(init=False)

    def __post_init__(self) -> None:
        self.items = [item_data(i) for i in range(1, self.n + 1)]
        rng = random.Random(self.seed)
        self.get_ids = rng.sample(range(1, self.n + 1), self.n_get)
        self.tree = tree_data(self.n_parents)
        self.web_tree = tree_data(self.n_web, WEB_ADDRESSES)

    @property
    def n_web(self) -> int:
        """Requests of the "web" workload (5,000 at the default n), one user each."""
        return max(1, self.n // 20)

    def web_requests(self) -> list[tuple[int, str, str, int]]:
        """Per request: (user id, the user's new name, new address name, its value)."""
        return [
            (pid, f"{pname}~", f"{pname}/new", (pid * 17) % 101)
            for pid, (pname, _) in enumerate(self.web_tree, 1)
        ]

    def expect_web(self) -> TreeChecksum:
        triples = [
            (new_name, c, v)
            for (_, new_name, child, value), (_, kids) in zip(
                self.web_requests(), self.web_tree, strict=True
            )
            for c, v in [*kids, (child, value)]
        ]
        return TreeChecksum.of(self.n_web, triples)

    @property
    def large_sizes(self) -> tuple[int, ...]:
        """Objects held by the session in the "large" workload (10k and 100k at the default n)."""
        return tuple(sorted({max(SHORT_ROWS, self.n // 10), self.n}))

    def large_phases(self) -> tuple[str, ...]:
        return tuple(
            f"{size:,} {op}" for size in self.large_sizes for op in ("flush", "query", "commit")
        )

    def large_changed(self, size: int) -> list[int]:
        """Ids of the objects changed (one per flush) in the session holding ``size``."""
        step = max(1, size // LARGE_OPS)
        return list(range(1, size + 1, step))[:LARGE_OPS]

    def large_ranges(self, size: int) -> list[tuple[int, int]]:
        """``(lo, hi)`` id bounds of the 10-row queries in the session holding ``size``."""
        step = max(1, (size - SHORT_ROWS) // LARGE_OPS)
        return [(lo, lo + SHORT_ROWS) for lo in range(1, size - SHORT_ROWS + 2, step)][:LARGE_OPS]

    def expect_large(self) -> Checksum:
        bumps: dict[int, int] = {}
        for size in self.large_sizes:
            for pk in self.large_changed(size):
                bumps[pk] = bumps.get(pk, 0) + 1
        return Checksum.of((i, n, v + bumps.get(i, 0), s, t) for i, n, v, s, t in self.item_rows())

    @property
    def growth_sizes(self) -> tuple[int, ...]:
        """Table sizes of the "growth" workload: n/100, n/10, n and 10n (1k to 1M at the
        default n), unless given explicitly (``--growth-sizes``)."""
        if self.growth:
            return tuple(sorted(set(self.growth)))
        return tuple(sorted({max(SHORT_ROWS, self.n // d) for d in (100, 10, 1)} | {self.n * 10}))

    def growth_phases(self) -> tuple[str, ...]:
        return tuple(
            f"{size:,} {op}" for size in self.growth_sizes for op in ("insert", "load", "update")
        )

    def growth_items(self, size: int) -> list[ItemData]:
        """Rows 1..size of the growth data (the seeded data set, extended past n)."""
        if size <= len(self.items):
            return self.items[:size]
        return self.items + [item_data(i) for i in range(len(self.items) + 1, size + 1)]

    def growth_checksum(self, size: int, bump: int) -> Checksum:
        """The first ``size`` rows with ``bump`` added to every value; ids not checked."""
        return Checksum.of(
            (i, n, v + bump, s, t) for i, (n, v, s, t) in enumerate(self.growth_items(size), 1)
        ).without_ids()

    def expect_growth(self) -> Checksum:
        return self.growth_checksum(self.growth_sizes[-1], 1)

    @property
    def n_get(self) -> int:
        return max(1, self.n // 10)

    @property
    def n_short(self) -> int:
        """Queries of the "short" workload: together they read every row once."""
        return max(1, self.n // SHORT_ROWS)

    def short_ranges(self) -> list[tuple[int, int]]:
        """``(lo, hi)`` id bounds (lo inclusive, hi exclusive) of each short query."""
        return [(lo, lo + SHORT_ROWS) for lo in range(1, self.n_short * SHORT_ROWS, SHORT_ROWS)]

    @property
    def n_delete(self) -> int:
        return self.n // 2  # the even ids

    @property
    def n_parents(self) -> int:
        return max(1, self.n // 10)

    def item_rows(self) -> Iterator[ItemRow]:
        for i, row in enumerate(self.items, 1):
            yield (i, *row)

    def expect_all(self) -> Checksum:
        return Checksum.of(self.item_rows())

    def expect_inserted(self) -> Checksum:
        return self.expect_all().without_ids()

    def expect_updated(self) -> Checksum:
        return Checksum.of((i, n, v + 1, s, t) for i, n, v, s, t in self.item_rows())

    def expect_after_delete(self) -> Checksum:
        return Checksum.of(r for r in self.item_rows() if r[0] % 2)

    def expect_short(self) -> Checksum:
        last = self.n_short * SHORT_ROWS
        return Checksum.of(r for r in self.item_rows() if r[0] <= last)

    def expect_get(self) -> Checksum:
        return Checksum.of((i, *self.items[i - 1]) for i in self.get_ids)

    def expect_tree(self) -> TreeChecksum:
        return TreeChecksum.of(
            len(self.tree), ((p, c, v) for p, kids in self.tree for c, v in kids)
        )


class Meter:
    """Records the measured regions of one run of one implementation.

    ``phase(name)`` times a region with ``clock`` (``time.perf_counter``, or
    ``time.process_time`` for ``--clock cpu``) after a ``gc.collect()``;
    ``memory(name)`` records the Python memory still held at the end of the
    region (tracemalloc current minus baseline, after a ``gc.collect()`` so that
    only reachable memory counts).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.seconds: dict[str, float] = {}
        self.bytes: dict[str, int] = {}
        self.peak_bytes: dict[str, int] = {}

    @contextmanager
    def phase(self, name: str = "") -> Iterator[None]:
        gc.collect()
        clock = self.clock
        start = clock()
        yield
        self.seconds[name] = clock() - start

    @contextmanager
    def memory(self, name: str = "") -> Iterator[None]:
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            yield
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.bytes[name] = current - base
        self.peak_bytes[name] = peak - base
