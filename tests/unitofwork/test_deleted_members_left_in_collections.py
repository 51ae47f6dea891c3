"""An object deleted by an earlier flush (of the same transaction) may still sit in
a loaded collection of its parent: deleting an object does not take it out of
collections.  A later flush that deletes the parent, or takes the member out of the
collection, must not try to write the gone row (its foreign key set to NULL or its
link row deleted): that UPDATE/DELETE would match no row."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import backref, relationship


@pytest.fixture
def Node(Base, engine):
    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("nodes.id"))
        data = Column(String(30))
        children = relationship("Node", backref=backref("parent", remote_side=[id]))

    Base.metadata.create_all(engine)
    return Node


def test_deleting_parent_skips_child_deleted_earlier(Node, session, sql_log, read_rows):
    n2, n3 = Node(data="n2"), Node(data="n3")
    n1 = Node(data="n1", children=[n2])
    session.add(n1)
    session.flush()
    session.delete(n2)
    n1.children.append(n3)
    session.flush()
    sql_log.clear()
    session.delete(n1)
    session.delete(n3)
    session.flush()
    assert sql_log.matching("UPDATE") == []  # n2's row is gone, n3 goes too
    assert len(sql_log.matching("DELETE")) >= 1
    session.commit()
    assert read_rows(Node.__table__) == []


def test_removing_child_deleted_earlier_writes_nothing_for_it(Node, session, sql_log,
                                                             read_rows):
    n2 = Node(data="n2")
    n1 = Node(data="n1", children=[n2])
    session.add(n1)
    session.flush()
    session.delete(n2)
    session.flush()
    n1.children.remove(n2)
    sql_log.clear()
    session.flush()
    assert sql_log.matching("UPDATE") == []
    session.commit()
    assert read_rows(Node.__table__) == [(1, None, "n1")]


def test_many_to_many_parent_deleted_after_member(Base, engine, session, read_rows):
    links = Table("links", Base.metadata,
                  Column("a_id", Integer, ForeignKey("a.id"), primary_key=True),
                  Column("b_id", Integer, ForeignKey("b.id"), primary_key=True))

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", secondary=links, backref="as_")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)

    Base.metadata.create_all(engine)
    b1, b2 = B(id=1), B(id=2)
    a = A(id=1, bs=[b1, b2])
    session.add(a)
    session.flush()
    session.delete(b1)
    session.flush()
    session.delete(a)
    session.flush()
    session.commit()
    assert read_rows(links) == []
    assert read_rows(B.__table__) == [(2,)]
