"""Values the database computes during a flush are never left stale on the object:
a SQL-expression ``default`` (INSERT) or ``onupdate`` (UPDATE), such as
``func.now()``, expires its attribute, so the next read loads the row's value;
Python-side onupdates are put into the object.  A ``post_update`` UPDATE applies the
table's onupdates like any UPDATE (but keeps a value the program set in the same
flush), and the ``expire`` / ``refresh_flush`` events name those attributes.  The
values are compared with the row read back on a separate connection."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, bindparam, func, select

from datamapper import Session, declarative_base, event, relationship


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)
    ticks = count()
    db_ticks = count(100)

    class Doc(Base):
        __tablename__ = "dc_docs"
        id = Column(Integer, primary_key=True)
        data = Column(Integer)
        made = Column(Integer, default=func.abs(-5))                 # SQL default
        touched = Column(Integer, onupdate=func.abs(-9))             # SQL onupdate
        stamp = Column(Integer, onupdate=lambda: next(ticks))        # Python onupdate
        db_stamp = Column(Integer, onupdate=bindparam(               # computed in the
            "db_stamp_value", callable_=lambda: next(db_ticks)))     # statement
        favorite_id = Column(ForeignKey("dc_notes.id", use_alter=True, name="fav_fk"))
        notes = relationship("Note", primaryjoin="Doc.id == Note.doc_id")
        favorite = relationship("Note", primaryjoin="Doc.favorite_id == Note.id",
                                post_update=True)

    class Note(Base):
        __tablename__ = "dc_notes"
        id = Column(Integer, primary_key=True)
        doc_id = Column(ForeignKey("dc_docs.id"))

    metadata.create_all(engine)
    return Doc, Note


def _row(engine: Any, Doc: Any) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(Doc.__table__.c.made, Doc.__table__.c.touched,
                                         Doc.__table__.c.stamp, Doc.__table__.c.db_stamp)
                                  ).one())


def test_sql_default_and_onupdate_are_read_back_not_left_stale(models, engine):
    Doc, _Note = models
    with Session(engine) as s:
        doc = Doc(id=1)
        s.add(doc)
        s.flush()
        assert doc.made == 5                     # not None: loaded from the new row
        doc.data = 1
        s.flush()
        assert (doc.touched, doc.stamp, doc.db_stamp) == (9, 0, 100)
        s.commit()
        assert (doc.made, doc.touched, doc.stamp, doc.db_stamp) == _row(engine, Doc)


def test_post_update_applies_onupdates(models, engine):
    Doc, Note = models
    seen: list[tuple[str, Any]] = []
    event.listen(Doc, "refresh_flush", lambda t, ctx, keys: seen.append(("refresh", keys)))
    event.listen(Doc, "expire", lambda t, keys: seen.append(("expire", sorted(keys or ()))))
    with Session(engine, expire_on_commit=False) as s:
        doc = Doc(id=1)
        note = Note(id=1)
        doc.notes.append(note)
        doc.favorite = note                      # written by a second UPDATE
        s.add(doc)
        s.flush()
        assert ("refresh", ["stamp"]) in seen
        assert ("expire", ["db_stamp", "made", "touched"]) in seen  # one event per flush
        assert (doc.touched, doc.stamp, doc.db_stamp) == (9, 0, 100)
        s.commit()
        assert (doc.made, doc.touched, doc.stamp, doc.db_stamp) == _row(engine, Doc)


def test_post_update_keeps_values_the_program_set(models, engine):
    Doc, Note = models
    with Session(engine) as s:
        doc = Doc(id=1, stamp=5, db_stamp=7)
        note = Note(id=1)
        doc.notes.append(note)
        doc.favorite = note
        s.add(doc)
        s.commit()
    assert _row(engine, Doc)[2:] == (5, 7)
