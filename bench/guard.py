"""Cost of the Session ownership guard on the single-thread path.

Runs the guarded calls of a Session (add, get miss, query, flush/commit) against
a Session subclass whose guarded methods are the unwrapped originals, interleaved
in one process, and prints the per-call difference.  Usage: python bench/guard.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, Integer, String, create_engine

from datamapper import Session, declarative_base
from datamapper.session import session as session_module


class Unguarded(Session):
    pass


for part in reversed(session_module.Session.__mro__):  # the Session is built of parts
    for name, value in vars(part).items():
        if hasattr(value, "__wrapped__"):
            setattr(Unguarded, name, value.__wrapped__)


def main() -> None:
    Base = declarative_base()

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    path = Path(tempfile.mkdtemp()) / "guard.db"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Item(id=i, name="x") for i in range(1, 2001)])
        s.commit()

    def add_calls(cls: type[Session], n: int = 50_000) -> float:
        objs = [Item(name="y") for _ in range(n)]
        s = cls(engine)
        t0 = time.process_time()
        for o in objs:
            s.add(o)
        dt = time.process_time() - t0
        s.expunge_all()
        s.close()
        return dt / n

    def get_miss(cls: type[Session], n: int = 2000) -> float:
        s = cls(engine)
        t0 = time.process_time()
        for i in range(1, n + 1):
            s.get(Item, i)
        dt = time.process_time() - t0
        s.close()
        return dt / n

    for label, fn in (("add()", add_calls), ("get() miss", get_miss)):
        guarded, plain = [], []
        for i in range(8):  # alternate the order; keep the fastest (least disturbed) run
            for cls in ((Session, Unguarded) if i % 2 else (Unguarded, Session)):
                (guarded if cls is Session else plain).append(fn(cls))
        g, p = min(guarded), min(plain)
        print(f"{label:12} guarded {g * 1e6:7.3f} µs  unguarded {p * 1e6:7.3f} µs  "
              f"cost {(g - p) * 1e9:6.0f} ns/call ({(g / p - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
