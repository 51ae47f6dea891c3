"""merge() autoflushes before it looks at the object graph: an object whose
deletion the autoflush writes is merged as what it now is (gone from the
database), cascading along the collections it had loaded, like SQLAlchemy."""

import pytest

from datamapper import inspect


@pytest.fixture
def models(parent_child_models):
    return parent_child_models


@pytest.fixture
def seeded(models, make_session):
    Parent, Child = models
    s = make_session()
    s.add(Parent(id=1, name="p1", children=[Child(id=1, code="c1"), Child(id=2, code="c2")]))
    s.commit()
    s.close()
    return models


@pytest.mark.parametrize("weak", [True, False], ids=["weak_map", "strong_map"])
def test_merge_of_object_marked_deleted_merges_it_as_new_after_autoflush(
        seeded, make_session, read_rows, weak):
    Parent, Child = seeded
    s = make_session(weak_identity_map=weak)
    p = s.get(Parent, 1)
    assert [c.id for c in p.children] == [1, 2]
    s.delete(p)
    merged = s.merge(p)  # autoflush writes the DELETEs first
    assert merged is not p
    assert inspect(merged).pending
    assert [c.id for c in merged.children] == [1, 2]
    assert all(inspect(c).pending for c in merged.children)
    s.commit()
    assert read_rows(Parent.__table__) == [(1, "p1")]
    assert read_rows(Child.__table__) == [(1, "c1", 1), (2, "c2", 1)]


def test_merge_of_object_marked_deleted_without_autoflush_is_refused(seeded, make_session):
    Parent, Child = seeded
    s = make_session(autoflush=False)
    p = s.get(Parent, 1)
    s.delete(p)
    assert s.merge(p) is p  # it is this session's own object: returned as it is
    assert p in s.deleted
