"""The delete cascade of an object marked deleted is followed again at flush: objects
attached to it after ``delete()`` are deleted with it; a delete-orphan many-to-one
replaced before its owner's delete leaves an orphan that the flush deletes."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, select

from datamapper import relationship


@pytest.fixture
def chain(Base, engine):
    class C(Base):
        __tablename__ = "dc_c"
        id = Column(Integer, primary_key=True)
        data = Column(String(10))

    class B(Base):
        __tablename__ = "dc_b"
        id = Column(Integer, primary_key=True)
        c_id = Column(ForeignKey("dc_c.id"))
        c = relationship(C, cascade="all, delete-orphan", single_parent=True)

    class A(Base):
        __tablename__ = "dc_a"
        id = Column(Integer, primary_key=True)
        b_id = Column(ForeignKey("dc_b.id"))
        b = relationship(B, cascade="all, delete-orphan", single_parent=True)
        kids = relationship("Kid", cascade="all")

    class Kid(Base):
        __tablename__ = "dc_kids"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("dc_a.id"))

    Base.metadata.create_all(engine)
    return A, B, C, Kid


def _count(session, cls):
    return len(session.execute(select(cls.__table__)).all())


def test_many_to_one_attached_after_delete_is_deleted_too(chain, session):
    A, B, C, _Kid = chain
    a, b, c = A(id=1), B(id=1), C(id=1)
    session.add_all([a, b, c])
    session.flush()
    session.delete(a)
    a.b = b
    b.c = c
    session.flush()
    assert [_count(session, k) for k in (A, B, C)] == [0, 0, 0]


def test_one_to_many_member_appended_after_delete_is_deleted_too(chain, session):
    A, _B, _C, Kid = chain
    a, k = A(id=1), Kid(id=1)
    session.add_all([a, k])
    session.flush()
    session.delete(a)
    a.kids.append(k)
    session.flush()
    assert [_count(session, A), _count(session, Kid)] == [0, 0]


def test_many_to_one_orphan_replaced_before_delete_is_deleted(chain, session):
    A, B, C, _Kid = chain
    a = A(id=1, b=B(id=1, c=C(id=1)))
    session.add(a)
    session.flush()
    a.b = None
    session.delete(a)
    session.flush()
    assert [_count(session, k) for k in (A, B, C)] == [0, 0, 0]


@pytest.fixture
def parents(Base, engine):
    def make(uselist, cascade):
        class Child(Base):
            __tablename__ = "mv_child"
            id = Column(Integer, primary_key=True)
            parent_id = Column(ForeignKey("mv_parent.id"), nullable=False)

        class Parent(Base):
            __tablename__ = "mv_parent"
            id = Column(Integer, primary_key=True)
            child = relationship(Child, uselist=uselist, cascade=cascade)

        Base.metadata.create_all(engine)
        return Parent, Child

    return make


@pytest.mark.parametrize("uselist", [True, False])
@pytest.mark.parametrize("cascade", ["all", "all, delete-orphan"])
def test_child_of_a_deleted_parent_moved_to_another_parent_is_kept(parents, session,
                                                                   uselist, cascade):
    Parent, Child = parents(uselist, cascade)
    p1, p2, c1 = Parent(id=1), Parent(id=2), Child(id=1)
    if uselist:
        p1.child.append(c1)
    else:
        p1.child = c1
    session.add_all([p1, c1])
    session.flush()
    session.delete(p1)  # cascades the delete to c1
    if uselist:
        p2.child.append(c1)
    else:
        p2.child = c1
    session.add(p2)
    session.flush()
    t = Child.__table__
    assert session.execute(select(t.c.id, t.c.parent_id)).all() == [(1, 2)]
    assert session.execute(select(Parent.__table__.c.id)).scalars().all() == [2]
