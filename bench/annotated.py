"""Annotated (2.x) models against classic ``Column`` models: same speed?

Both styles end in the same Mapper and the same instrumentation, so loading,
attribute access and flush should cost the same; this measures it, the two
styles interleaved in one process on one SQLite file per style.
Usage: python bench/annotated.py [n]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, String, create_engine

from datamapper import DeclarativeBase, Mapped, Session, declarative_base, mapped_column


def classic_model() -> Any:
    Base = declarative_base()

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(30), nullable=False)
        value = Column(Integer)

    return Base, Item


def annotated_model() -> Any:
    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        value: Mapped[int | None]

    return Base, Item


def run(style: str, n: int) -> dict[str, float]:
    Base, Item = classic_model() if style == "classic" else annotated_model()
    path = Path(tempfile.mkdtemp()) / f"{style}.db"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    out = {}
    t0 = time.process_time()
    with Session(engine) as s:
        s.add_all([Item(name=f"n{i}", value=i) for i in range(n)])
        s.commit()
    out["insert"] = time.process_time() - t0
    with Session(engine) as s:
        t0 = time.process_time()
        items = s.query(Item).all()
        out["load"] = time.process_time() - t0
        t0 = time.process_time()
        total = 0
        for _ in range(5):
            for it in items:
                total += it.value
        out["attribute read x5"] = time.process_time() - t0
        t0 = time.process_time()
        for it in items:
            it.value = it.value + 1
        s.commit()
        out["update flush"] = time.process_time() - t0
    engine.dispose()
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    best: dict[str, dict[str, float]] = {"classic": {}, "annotated": {}}
    for i in range(6):
        for style in (("classic", "annotated") if i % 2 else ("annotated", "classic")):
            for k, v in run(style, n).items():
                best[style][k] = min(v, best[style].get(k, v))
    print(f"n = {n:,}; best of 3 per style (CPU seconds); ratio = annotated / classic")
    for k in best["classic"]:
        c, a = best["classic"][k], best["annotated"][k]
        print(f"{k:20} classic {c:7.4f}  annotated {a:7.4f}  ratio {a / c:5.2f}")


if __name__ == "__main__":
    main()
