"""post_update foreign keys are written in as few UPDATEs as the rows allow: the
post-updates of one row (several post_update relationships set in one flush) are one
UPDATE of all their columns, and rows given the same columns are one executemany.
(Each relationship's post-update of a row was its own UPDATE.)"""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import relationship


@pytest.fixture
def models(Base, engine):
    class Parent(Base):
        __tablename__ = "pub_parent"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        c1_id = Column(Integer, ForeignKey("pub_child1.id", use_alter=True, name="fk_pub_c1"))
        c2_id = Column(Integer, ForeignKey("pub_child2.id", use_alter=True, name="fk_pub_c2"))
        c1s = relationship("Child1", primaryjoin="Child1.parent_id == Parent.id")
        c2s = relationship("Child2", primaryjoin="Child2.parent_id == Parent.id")
        c1 = relationship("Child1", primaryjoin="Child1.id == Parent.c1_id", post_update=True)
        c2 = relationship("Child2", primaryjoin="Child2.id == Parent.c2_id", post_update=True)

    class Child1(Base):
        __tablename__ = "pub_child1"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("pub_parent.id"))

    class Child2(Base):
        __tablename__ = "pub_child2"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("pub_parent.id"))

    Base.metadata.create_all(engine)
    return Parent, Child1, Child2


def test_post_updates_of_one_row_are_one_update(models, session, sql_log, read_rows):
    Parent, Child1, Child2 = models
    p = Parent(id=1, name="p", c1s=[Child1(id=1), Child1(id=2)],
               c2s=[Child2(id=1), Child2(id=2)])
    session.add(p)
    session.flush()
    sql_log.clear()
    p.c1, p.c2 = p.c1s[1], p.c2s[0]
    session.flush()
    assert len(sql_log.matching("UPDATE")) == 1
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p", 2, 1)]
    sql_log.clear()
    p.c1 = p.c2 = None
    session.flush()
    assert len(sql_log.matching("UPDATE")) == 1
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p", None, None)]


def test_post_updates_of_several_rows_are_one_executemany(models, session, sql_log,
                                                          read_rows):
    Parent, Child1, Child2 = models
    ps = [Parent(id=i, name=f"p{i}", c1s=[Child1(id=i)], c2s=[Child2(id=i)])
          for i in (1, 2, 3)]
    session.add_all(ps)
    session.flush()
    sql_log.clear()
    for p in ps:
        p.c1, p.c2 = p.c1s[0], p.c2s[0]
    session.flush()
    updates = [e for e in sql_log.entries if e.statement.strip().upper().startswith("UPDATE")]
    assert len(updates) == 1 and updates[0].executemany
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p1", 1, 1), (2, "p2", 2, 2), (3, "p3", 3, 3)]


def test_a_new_row_and_its_post_updates_in_one_flush(models, session, sql_log, read_rows):
    # the INSERT, then one UPDATE of both post_update columns
    Parent, Child1, Child2 = models
    c1, c2 = Child1(id=1), Child2(id=1)
    p = Parent(id=1, name="p", c1s=[c1], c2s=[c2], c1=c1, c2=c2)
    session.add(p)
    session.flush()
    assert len(sql_log.matching("UPDATE")) == 1
    session.commit()
    assert read_rows(Parent.__table__) == [(1, "p", 1, 1)]
