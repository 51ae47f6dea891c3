"""expire()/refresh() of a whole object follow the refresh-expire cascade (the
0.9 document's behaviour, also SQLAlchemy 2.x's): related persistent objects are
expired, related pending objects leave the session; an object whose deletion
was flushed is no longer persistent, so expire()/refresh() refuse it."""

import pytest

from datamapper import inspect
from datamapper.exc import InvalidRequestError


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


@pytest.fixture(params=[True, False], ids=["weak_map", "strong_map"])
def session(request, make_session):
    return make_session(weak_identity_map=request.param)


def test_refresh_expires_related_objects_along_refresh_expire(seeded, session):
    Parent, Child = seeded
    p = session.get(Parent, 1)
    c1, c2 = p.children
    c1.code = "changed"
    session.refresh(p)
    assert inspect(c1).expired_attributes >= {"code"}
    assert "code" not in c2.__dict__
    assert not session.dirty
    assert c1.code == "c1" and c2.code == "c2"


def test_refresh_with_names_does_not_cascade(seeded, session):
    Parent, Child = seeded
    p = session.get(Parent, 1)
    c1 = p.children[0]
    session.refresh(p, ["name"])
    assert "code" in c1.__dict__


@pytest.mark.parametrize("how", ["expire", "refresh"])
def test_expire_or_refresh_drops_pending_related_objects(seeded, session, read_rows, how):
    Parent, Child = seeded
    p = session.get(Parent, 1)
    new = Child(id=3, code="c3")
    p.children.append(new)
    assert new in session.new
    getattr(session, how)(p)
    assert inspect(new).transient
    assert new not in session
    assert [c.id for c in p.children] == [1, 2]
    session.commit()
    assert [r[0] for r in read_rows(Child.__table__)] == [1, 2]


@pytest.mark.parametrize("how", ["expire", "refresh"])
def test_expire_or_refresh_of_object_deleted_by_flush_raises(seeded, session, how):
    Parent, Child = seeded
    p = session.get(Parent, 1)
    session.delete(p)
    session.flush()
    assert inspect(p).deleted
    with pytest.raises(InvalidRequestError, match=rf"Can't {how} .*deleted"):
        getattr(session, how)(p)
    assert inspect(p).deleted


def test_expire_of_object_marked_for_deletion_before_flush_is_allowed(seeded, session):
    Parent, Child = seeded
    p = session.get(Parent, 1)
    session.delete(p)
    session.expire(p, ["name"])
    assert p in session.deleted
