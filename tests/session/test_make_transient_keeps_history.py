"""make_transient() of a loaded object keeps its attribute history (as SQLAlchemy's
does): the versioned-rows recipe (SQLAlchemy's examples/versioned_rows) turns a
changed object into a new row in before_flush and reads get_history() to tell what
the new row gets from what stays with the old one."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import attributes, event, make_transient, relationship


@pytest.fixture
def models(Base, engine):
    class Doc(Base):
        __tablename__ = "mtk_docs"
        id = Column(Integer, primary_key=True)
        title = Column(String(30))
        notes = relationship("Note", backref="doc", order_by="Note.id")

    class Note(Base):
        __tablename__ = "mtk_notes"
        id = Column(Integer, primary_key=True)
        text = Column(String(30))
        doc_id = Column(Integer, ForeignKey("mtk_docs.id"))

    Base.metadata.create_all(engine)
    return Doc, Note


@pytest.fixture
def seeded(models, make_session):
    Doc, Note = models
    s = make_session()
    s.add(Doc(title="v1", notes=[Note(id=1, text="a"), Note(id=2, text="b")]))
    s.commit()  # (the database numbers the docs: the new versions' ids follow)
    s.close()
    return models


def _ids(group):
    return sorted(x.id for x in group)


def test_history_survives_make_transient(seeded, make_session):
    Doc, Note = seeded
    s = make_session()
    d = s.get(Doc, 1)
    d.notes.append(Note(id=3, text="c"))
    d.title = "v2"
    make_transient(d)
    h = attributes.get_history(d, "notes")
    assert (_ids(h.added), _ids(h.unchanged), _ids(h.deleted)) == ([3], [1, 2], [])
    t = attributes.get_history(d, "title")
    assert (list(t.added), list(t.unchanged), list(t.deleted)) == (["v2"], [], ["v1"])
    # an object never loaded has no history to keep: everything it holds is added
    fresh = Doc(title="x")
    make_transient(fresh)
    assert list(attributes.get_history(fresh, "title").added) == ["x"]


@pytest.mark.parametrize("loaded", [True, False], ids=["notes_loaded", "notes_unloaded"])
def test_new_version_in_before_flush_leaves_the_old_rows_children_alone(
        seeded, make_session, engine, sql_log, loaded):
    Doc, Note = seeded
    s = make_session()

    @event.listens_for(s, "before_flush")
    def new_version(session, ctx, instances):
        for obj in list(session.dirty):
            if isinstance(obj, Doc) and session.is_modified(obj):
                # (read only when loaded: get_history() would load it)
                loaded = "notes" in obj.__dict__
                added = attributes.get_history(obj, "notes").added if loaded else ()
                make_transient(obj)
                obj.id = None  # (a changed key: the old row's notes stay where they are)
                if loaded:
                    # the new row keeps only the notes added since the load
                    attributes.set_committed_value(obj, "notes", [])
                    for n in added:
                        obj.notes.append(n)
                session.add(obj)

    d = s.get(Doc, 1)
    if loaded:
        d.notes.append(Note(id=3, text="c"))  # (loads the collection first)
    d.title = "v2"
    sql_log.clear()
    s.commit()
    # nothing read the old row's notes to move them
    assert not [q for q in sql_log.matching("SELECT") if "mtk_notes" in q]
    with engine.connect() as conn:
        docs = conn.execute(sa.text("SELECT id, title FROM mtk_docs ORDER BY id")).all()
        notes = conn.execute(sa.text("SELECT id, doc_id FROM mtk_notes ORDER BY id")).all()
    assert [tuple(r) for r in docs] == [(1, "v1"), (2, "v2")]
    assert [tuple(r) for r in notes] == [(1, 1), (2, 1)] + ([(3, 2)] if loaded else [])
