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
