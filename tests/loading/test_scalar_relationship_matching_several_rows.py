"""A ``uselist=False`` relationship whose join condition matches several rows of the
related table: every loader keeps one object, warns naming the relationship, and a
joined eager load gives each parent once (it gave a parent once per matching row)."""

import warnings

import pytest
from sqlalchemy import Column, ForeignKey, Integer
from sqlalchemy.exc import SAWarning

from datamapper import joinedload, relationship, select, selectinload, subqueryload


@pytest.fixture
def M(Base, engine, make_session):
    class Parent(Base):
        __tablename__ = "sr_parents"
        id = Column(Integer, primary_key=True)
        child = relationship("Child", uselist=False, order_by="Child.id")

    class Child(Base):
        __tablename__ = "sr_children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("sr_parents.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Parent(id=1), Parent(id=2), Child(id=1, parent_id=1), Child(id=2, parent_id=2),
               Child(id=3, parent_id=2)])
    s.commit()
    s.close()
    return Parent, Child


@pytest.mark.parametrize("loader", [joinedload, selectinload, subqueryload])
def test_eager_load_warns_and_keeps_each_parent_once(M, make_session, loader):
    Parent, _c = M
    s = make_session()
    with pytest.warns(SAWarning, match=r"Multiple rows returned with uselist=False for "
                                       r"eagerly-loaded attribute 'Parent.child'"):
        parents = s.query(Parent).options(loader(Parent.child)).order_by(Parent.id).all()
    assert [p.id for p in parents] == [1, 2]
    assert parents[0].child.id == 1 and parents[1].child.id in (2, 3)
    s.expunge_all()
    with pytest.warns(SAWarning, match="eagerly-loaded attribute 'Parent.child'"):
        parents = s.scalars(select(Parent).options(loader(Parent.child))
                            .order_by(Parent.id)).all()
    assert [p.id for p in parents] == [1, 2]


def test_lazy_load_warns(M, make_session):
    Parent, _c = M
    s = make_session()
    p1, p2 = s.query(Parent).order_by(Parent.id).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert p1.child.id == 1  # one row: no warning
    with pytest.warns(SAWarning, match="lazily-loaded attribute 'Parent.child'"):
        assert p2.child.id in (2, 3)
