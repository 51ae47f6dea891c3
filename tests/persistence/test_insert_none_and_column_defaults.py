"""What an INSERT writes for an attribute that is None or was never set.

- never set, column has a default: the default applies
- set to None, column has a default (Python-side or server-side): the default
  applies too (None means "no value" unless the type evaluates None)
- set to None, no default: NULL
- a type that evaluates None (``should_evaluate_none``/``evaluates_none()``) gets an
  explicit None through its bind processing, but is left out when never set
"""

import pytest
from sqlalchemy import Column, Integer, String, TypeDecorator


class NoneAsWord(TypeDecorator):
    impl = String(50)
    cache_ok = True
    should_evaluate_none = True

    def process_bind_param(self, value, dialect):
        return "nothing" if value is None else value


@pytest.fixture
def Thing(Base, engine):
    class Thing(Base):
        __tablename__ = "things"
        id = Column(Integer, primary_key=True)
        evals_null = Column(NoneAsWord())
        evals_null_default = Column(NoneAsWord(), default="dflt")
        plain = Column(String(50))
        plain_default = Column(String(50), default="dflt")
        server_default = Column(String(50), server_default="srv")
        builtin_evals = Column(String(50).evaluates_none(), default="dflt")

    Base.metadata.create_all(engine)
    return Thing


COLS = ("evals_null", "evals_null_default", "plain", "plain_default", "server_default",
        "builtin_evals")


def _row(read_rows, Thing):
    (row,) = read_rows(Thing.__table__)
    return dict(zip(("id",) + COLS, row, strict=True))


def test_explicit_none(Thing, session, read_rows):
    t = Thing(**dict.fromkeys(COLS))
    session.add(t)
    session.commit()
    assert _row(read_rows, Thing) == {
        "id": 1, "evals_null": "nothing", "evals_null_default": "nothing", "plain": None,
        "plain_default": "dflt", "server_default": "srv", "builtin_evals": None}
    assert (t.plain_default, t.server_default) == ("dflt", "srv")


def test_never_set(Thing, session, read_rows):
    t = Thing()
    session.add(t)
    session.commit()
    assert _row(read_rows, Thing) == {
        "id": 1, "evals_null": None, "evals_null_default": "dflt", "plain": None,
        "plain_default": "dflt", "server_default": "srv", "builtin_evals": "dflt"}
    assert (t.plain_default, t.server_default) == ("dflt", "srv")


def test_explicit_none_in_a_batch_of_plain_rows(Thing, session, read_rows):
    """Rows batched together: the one with None on a defaulted column still gets
    the default, the others keep their values."""
    session.add_all([Thing(id=i, **{c: f"v{i}" for c in COLS}) for i in (1, 2)])
    session.add(Thing(id=3, **{c: ("v3" if c != "plain_default" else None) for c in COLS}))
    session.commit()
    rows = read_rows(Thing.__table__)
    assert [r[4] for r in rows] == ["v1", "v2", "dflt"]
    assert [r[3] for r in rows] == ["v1", "v2", "v3"]
