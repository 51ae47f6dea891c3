"""A child marked for deletion by its parent's delete cascade (nothing flushed yet)
and then moved to a surviving parent is saved with the new parent, not deleted, both
when the new parent's collection is loaded and when it is not (the append is queued
through the backref)."""

import pytest
import sqlalchemy as sa

from datamapper import Session, inspect


@pytest.mark.parametrize("new_parent_loaded", [True, False])
@pytest.mark.parametrize("how", ["reference", "append"])
def test_child_moved_off_a_deleted_parent_survives(parent_child_models, engine,
                                                   new_parent_loaded, how):
    Parent, Child = parent_child_models
    with Session(engine) as s:
        s.add_all([Parent(id=1, children=[Child(id=1), Child(id=2)]),
                   Parent(id=2, children=[Child(id=3)])])
        s.commit()
    with Session(engine) as s:
        a, b = s.get(Parent, 1), s.get(Parent, 2)
        if new_parent_loaded or how == "append":
            assert [c.id for c in b.children] == [3]
        s.delete(a)
        c1 = s.get(Child, 1)
        assert c1 in s.deleted
        if how == "append":
            b.children.append(c1)
        else:
            c1.parent = b
        s.flush()
        assert inspect(c1).persistent and c1 not in s.deleted
        s.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.text("select id, parent_id from children order by id")).all() \
            == [(1, 2), (3, 2)]
        assert conn.execute(sa.text("select id from parents")).all() == [(2,)]


def test_add_takes_back_a_delete_not_flushed_yet(parent_child_models, engine):
    """add() of an object marked for deletion (not flushed) unmarks it; the children its
    delete cascade marked stay marked."""
    Parent, Child = parent_child_models
    with Session(engine) as s:
        s.add(Parent(id=1, children=[Child(id=1), Child(id=2)]))
        s.commit()
    with Session(engine) as s:
        p = s.get(Parent, 1)
        s.delete(p)
        s.add(p)
        assert p not in s.deleted and len(s.deleted) == 2
        s.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.text("select id from parents")).all() == [(1,)]
        assert conn.execute(sa.text("select count(*) from children")).scalar() == 0
