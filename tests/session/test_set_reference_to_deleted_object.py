"""Setting a many-to-one to an object whose row a flush deleted raises (the
save-update cascade can't add it back) before anything changes: the reference keeps
its value, the deleted object's collection does not gain the member, and the object
is not dirty, as in SQLAlchemy (whose cascade runs before the assignment). (Found by
a differential soak, DIFF_SEED=23.)"""

import pytest

from datamapper import Session, inspect
from datamapper.exc import InvalidRequestError


@pytest.mark.parametrize("loaded", [True, False])
def test_set_to_flushed_deleted_object_changes_nothing(parent_child_models, engine,
                                                      read_rows, loaded):
    Parent, Child = parent_child_models
    with Session(engine) as s:
        s.add_all([Parent(id=1, children=[Child(id=1)]), Parent(id=2)])
        s.commit()
    with Session(engine) as s:
        p1, p2, c = s.get(Parent, 1), s.get(Parent, 2), s.get(Child, 1)
        assert p2.children == []
        if loaded:
            assert c.parent is p1
        s.delete(p2)
        s.flush()
        with pytest.raises(InvalidRequestError, match="deleted"):
            c.parent = p2
        assert p2.children == []
        assert c not in s.dirty
        if loaded:
            assert c.parent is p1
        assert inspect(c).attrs.parent.history.added in ((), [], None) or \
            not inspect(c).attrs.parent.history.has_changes()
        s.commit()
    assert read_rows("select id, parent_id from children") == [(1, 1)]
    assert read_rows("select id from parents") == [(1,)]
