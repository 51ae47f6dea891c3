"""``of_type(alias).any()`` / ``has()`` of a self-referential relationship (an adjacency
list, a joined-table subclass referring to itself): only the join condition's columns
standing for the related row are the alias's."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import aliased, relationship


@pytest.fixture
def nodes(Base, engine, make_session):
    class Node(Base):
        __tablename__ = "node"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        parent_id = Column(ForeignKey("node.id"))
        parent = relationship("Node", remote_side=id, backref="children")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Node(id=1, name="root", children=[Node(id=2, name="a"), Node(id=3, name="b")]))
    s.commit()
    s.close()
    return Node


def test_of_type_alias_has_and_any_on_adjacency_list(nodes, make_session):
    Node = nodes
    s = make_session()
    p = aliased(Node)
    got = s.query(Node).filter(Node.parent.of_type(p).has(p.name == "root")).order_by(Node.id)
    assert [n.name for n in got] == ["a", "b"]
    c = aliased(Node)
    assert [n.name for n in s.query(Node).filter(
        Node.children.of_type(c).any(c.name == "a"))] == ["root"]
    # from an aliased parent too
    n2 = aliased(Node)
    assert [n.name for n in s.query(n2).filter(
        n2.parent.of_type(p).has(p.name == "root")).order_by(n2.id)] == ["a", "b"]


def test_has_on_joined_subclass_referring_to_itself(Base, engine, make_session):
    class Person(Base):
        __tablename__ = "person"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "engineer"
        id = Column(ForeignKey("person.id"), primary_key=True)
        reports_to_id = Column(ForeignKey("engineer.id"))
        reports_to = relationship("Engineer", primaryjoin=id == reports_to_id,
                                  remote_side=id, backref="reports")
        __mapper_args__ = {"polymorphic_identity": "engineer",
                           "inherit_condition": id == Person.id}

    Base.metadata.create_all(engine)
    s = make_session()
    wally = Engineer(name="wally")
    s.add_all([wally, Engineer(name="dilbert", reports_to=wally)])
    s.commit()
    s.close()
    s = make_session()
    got = s.query(Engineer).filter(Engineer.reports_to.has(Engineer.name == "wally")).one()
    assert got.name == "dilbert"
    m = aliased(Engineer)
    got = s.query(Engineer).filter(Engineer.reports_to.of_type(m).has(m.name == "wally")).one()
    assert got.name == "dilbert"
