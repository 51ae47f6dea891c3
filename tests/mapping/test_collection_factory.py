"""``relationship(collection_class=factory)``: a function returning a new empty
collection, e.g. ``sqlalchemy.ext.orderinglist.ordering_list("position")``, whose
collection methods run (renumbering positions) with the ORM's events around them.
Rows are read back on a separate connection."""

from __future__ import annotations

import pickle

import pytest
from sqlalchemy import ForeignKey, String
from sqlalchemy.ext.orderinglist import ordering_list

from datamapper import DeclarativeBase, Mapped, Session, mapped_column, relationship
from datamapper.exc import ArgumentError


@pytest.fixture
def Slide(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Slide(Base):
        __tablename__ = "cf_slides"
        id: Mapped[int] = mapped_column(primary_key=True)
        bullets: Mapped[list[Bullet]] = relationship(
            order_by="Bullet.position", collection_class=ordering_list("position"),
            cascade="all, delete-orphan")

    class Bullet(Base):
        __tablename__ = "cf_bullets"
        id: Mapped[int] = mapped_column(primary_key=True)
        slide_id: Mapped[int] = mapped_column(ForeignKey("cf_slides.id"))
        position: Mapped[int]
        text: Mapped[str] = mapped_column(String(20))

    metadata.create_all(engine)
    Slide.Bullet = Bullet
    return Slide


def _bullets(read_rows, Slide):
    return sorted((r[2], r[3]) for r in read_rows(Slide.Bullet.__table__))


def test_ordering_list_numbers_positions_on_append_and_insert(Slide, engine, read_rows):
    B = Slide.Bullet
    with Session(engine) as s:
        sl = Slide()
        sl.bullets.append(B(text="a"))
        sl.bullets.append(B(text="b"))
        sl.bullets.insert(0, B(text="c"))
        s.add(sl)
        s.commit()
    assert _bullets(read_rows, Slide) == [(0, "c"), (1, "a"), (2, "b")]


def test_ordering_list_renumbers_after_load_and_removal(Slide, engine, read_rows):
    B = Slide.Bullet
    with Session(engine) as s:
        s.add(Slide(bullets=[B(text=t) for t in "abcd"]))
        s.commit()
    with Session(engine) as s:
        sl = s.get(Slide, 1)
        assert [b.text for b in sl.bullets] == list("abcd")
        sl.bullets.remove(sl.bullets[1])   # b: deleted (orphan), the rest renumbered
        del sl.bullets[0]                  # a
        sl.bullets.insert(1, B(text="x"))
        s.commit()
    assert _bullets(read_rows, Slide) == [(0, "c"), (1, "x"), (2, "d")]


def test_factory_collection_is_instrumented(Slide, engine):
    B = Slide.Bullet
    with Session(engine) as s:
        sl = Slide()
        s.add(sl)
        b = B(text="a")
        sl.bullets.append(b)
        assert b in s.new  # the append cascaded: the ORM saw it
        assert b.position == 0


def test_factory_must_return_an_empty_collection(metadata):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class P(Base):
        __tablename__ = "cf_p"
        id: Mapped[int] = mapped_column(primary_key=True)
        cs: Mapped[list[C]] = relationship(collection_class=lambda: "nope")

    class C(Base):
        __tablename__ = "cf_c"
        id: Mapped[int] = mapped_column(primary_key=True)
        p_id: Mapped[int] = mapped_column(ForeignKey("cf_p.id"))

    try:
        with pytest.raises(ArgumentError, match="new, empty list, set, keyed dictionary"):
            P().cs  # noqa: B018  (configures the mappers)
    finally:
        Base.registry.dispose()  # the broken mapper must not fail later configures


def test_plain_factory_function(metadata, engine, read_rows):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class P(Base):
        __tablename__ = "cf_p2"
        id: Mapped[int] = mapped_column(primary_key=True)
        cs: Mapped[set[C]] = relationship(collection_class=lambda: set())

    class C(Base):
        __tablename__ = "cf_c2"
        id: Mapped[int] = mapped_column(primary_key=True)
        p_id: Mapped[int] = mapped_column(ForeignKey("cf_p2.id"))

    metadata.create_all(engine)
    with Session(engine) as s:
        p = P(cs={C(), C()})
        s.add(p)
        s.commit()
        assert isinstance(p.cs, set) and len(p.cs) == 2
    assert len(read_rows(C.__table__)) == 2


def test_object_with_a_factory_collection_pickles(engine, metadata):
    class PickleBase(DeclarativeBase):
        pass

    PickleBase.registry.metadata = metadata

    class PSlide(PickleBase):
        __tablename__ = "cf_pslides"
        id: Mapped[int] = mapped_column(primary_key=True)
        bullets: Mapped[list[PBullet]] = relationship(
            order_by="PBullet.position", collection_class=ordering_list("position"))

    class PBullet(PickleBase):
        __tablename__ = "cf_pbullets"
        id: Mapped[int] = mapped_column(primary_key=True)
        slide_id: Mapped[int] = mapped_column(ForeignKey("cf_pslides.id"))
        position: Mapped[int]

    # pickling finds classes by module and name: put these there (classes mapped at
    # import time would not survive another test's clear_mappers())
    for cls in (PSlide, PBullet):
        cls.__qualname__ = cls.__name__
        globals()[cls.__name__] = cls
    metadata.create_all(engine)
    try:
        with Session(engine) as s:
            sl = PSlide(bullets=[PBullet(), PBullet()])
            s.add(sl)
            s.commit()
            sl.bullets  # noqa: B018  (loaded)
            copy = pickle.loads(pickle.dumps(sl))
            assert [b.position for b in copy.bullets] == [0, 1]
            copy.bullets.insert(0, PBullet())  # still an ordering list
            assert [b.position for b in copy.bullets] == [0, 1, 2]
    finally:  # a later test's annotations must not find these
        globals().pop("PSlide", None)
        globals().pop("PBullet", None)
