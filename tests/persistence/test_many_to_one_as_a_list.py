"""A many-to-one with ``uselist=True``: the reference is kept as a list of at most one
object; the flush writes its key (the flush failed: "'InstrumentedList' object has no
attribute '__dict__'") and every loader gives the list back."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer

from datamapper import exc, joinedload, relationship, select, selectinload


@pytest.fixture
def M(Base, engine):
    class A(Base):
        __tablename__ = "m2ol_a"
        id = Column(Integer, primary_key=True)

    class B(Base):
        __tablename__ = "m2ol_b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("m2ol_a.id"))
        a = relationship(A, uselist=True)

    Base.metadata.create_all(engine)
    return A, B


def test_the_one_member_is_written_changed_and_cleared(M, make_session, read_rows):
    A, B = M
    s = make_session()
    b = B(id=1)
    b.a.append(A(id=5))
    s.add(b)
    s.commit()
    assert read_rows("SELECT id, a_id FROM m2ol_b") == [(1, 5)]
    b.a = [A(id=6)]
    s.commit()
    assert read_rows("SELECT id, a_id FROM m2ol_b") == [(1, 6)]
    b.a = []
    s.commit()
    assert read_rows("SELECT id, a_id FROM m2ol_b") == [(1, None)]


def test_every_loader_gives_the_list(M, make_session):
    A, B = M
    s = make_session()
    s.add_all([B(id=1, a=[A(id=5)]), B(id=2)])
    s.commit()
    s.close()
    for opt in (None, joinedload(B.a), selectinload(B.a)):
        s = make_session()
        stmt = select(B).order_by(B.id)
        if opt is not None:
            stmt = stmt.options(opt)
        b1, b2 = s.scalars(stmt).unique().all()
        assert [a.id for a in b1.a] == [5] and list(b2.a) == []
        s.close()


def test_two_members_are_refused_before_any_sql(M, make_session, sql_log, read_rows):
    A, B = M
    s = make_session()
    b = B(id=1)
    b.a.extend([A(id=5), A(id=6)])
    s.add(b)
    sql_log.clear()
    with pytest.raises(exc.FlushError, match=r"B\.a .*holds 2 objects"):
        s.flush()
    assert sql_log.matching("INSERT") == []
    s.rollback()
    assert read_rows("SELECT id FROM m2ol_b") == []


@pytest.mark.parametrize("how", ["read", "assigned empty"])
def test_a_new_objects_empty_list_keeps_the_key_the_program_set(M, make_session, read_rows,
                                                                 how):
    # reading the (empty) list of a new object, or assigning [], names no target: the
    # foreign key set directly is written, as SQLAlchemy does (it was written as NULL)
    A, B = M
    s = make_session()
    s.add(A(id=5))
    s.flush()
    b = B(id=1)
    if how == "read":
        assert b.a == []
    else:
        b.a = []
    b.a_id = 5
    s.add(b)
    s.commit()
    assert read_rows("SELECT id, a_id FROM m2ol_b") == [(1, 5)]
