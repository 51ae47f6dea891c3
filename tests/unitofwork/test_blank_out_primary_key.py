"""A flush never sets a primary key column to NULL to unlink a row: when the
foreign key a parent's delete (or a removal from its collection) would clear is
also the child's primary key, the flush refuses before any SQL is sent."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer

from datamapper import exc, relationship


@pytest.fixture
def AB(Base, engine):
    class A(Base):
        __tablename__ = "pk_a"
        id = Column(Integer, primary_key=True)
        foo = Column(Integer)
        bs = relationship("B", cascade="save-update")

    class B(Base):
        __tablename__ = "pk_b"
        id = Column(ForeignKey("pk_a.id"), primary_key=True)

    Base.metadata.create_all(engine)
    return A, B


@pytest.mark.parametrize("how", ["delete_parent", "remove_child"])
def test_unlinking_a_child_whose_primary_key_is_the_foreign_key_is_refused(
        AB, session, sql_log, read_rows, how):
    A, B = AB
    a = A(id=1, bs=[B()])
    session.add(a)
    session.commit()
    a.bs  # noqa: B018  (loaded: the flush sees the child)
    if how == "delete_parent":
        session.delete(a)
    else:
        a.bs.remove(a.bs[0])
    sql_log.clear()
    with pytest.raises(exc.FlushError) as ei:
        session.flush()
    assert isinstance(ei.value, AssertionError)  # as SQLAlchemy raises it
    msg = str(ei.value)
    assert ("Dependency rule on column 'pk_a.id' tried to blank-out primary key column "
            "'pk_b.id' on instance") in msg
    assert "A.bs" in msg and "cascade" in msg
    assert not [s for s in sql_log.statements
                if s.lstrip().upper().startswith(("UPDATE", "DELETE"))]
    session.rollback()
    assert read_rows("SELECT id FROM pk_b") == [(1,)]
    assert read_rows("SELECT id FROM pk_a") == [(1,)]


def test_delete_cascade_deletes_the_child_instead(Base, engine, session, read_rows):
    class A(Base):
        __tablename__ = "pk_a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", cascade="all, delete-orphan")

    class B(Base):
        __tablename__ = "pk_b"
        id = Column(ForeignKey("pk_a.id"), primary_key=True)

    Base.metadata.create_all(engine)
    a = A(id=1, bs=[B()])
    session.add(a)
    session.commit()
    session.delete(a)
    session.commit()
    assert read_rows("SELECT id FROM pk_b") == []
