"""A child whose many-to-one is set to its parent again and then to None (the parent's
delete-orphan collection never loaded) is an orphan: the flush deletes it, as it does
when the reference is set to None at once from a loaded value."""

import sqlalchemy as sa

from datamapper import Session


def test_child_set_to_same_parent_then_none_is_deleted_as_orphan(parent_child_models,
                                                                   engine):
    Parent, Child = parent_child_models
    with Session(engine) as s:
        s.add(Parent(id=1, children=[Child(id=1), Child(id=2)]))
        s.commit()
    with Session(engine) as s:
        a = s.get(Parent, 1)
        c1 = s.get(Child, 1)
        s.commit()  # both expired; a.children never loaded
        c1.parent = a
        c1.parent = None
        s.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.text("select id, parent_id from children")).all() == [(2, 1)]
