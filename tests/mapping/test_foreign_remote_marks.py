"""foreign() and remote() in a primaryjoin mark the referring columns and the related
row's columns, as foreign_keys= and remote_side= do: tables with no ForeignKey,
self-referential relationships, and the string form of primaryjoin."""

import pytest
from sqlalchemy import Column, Integer, String, select

from datamapper import configure_mappers, exc, foreign, relationship, remote


@pytest.fixture
def no_fk_models(Base, engine):
    class User(Base):
        __tablename__ = "fr_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        orders = relationship("Order", primaryjoin=lambda: User.id == foreign(Order.user_id),
                              backref="user", order_by="Order.id")

    class Order(Base):
        __tablename__ = "fr_orders"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer)  # no ForeignKey: the join says which side refers

    Base.metadata.create_all(engine)
    configure_mappers()
    return User, Order


def test_one_to_many_marked_foreign_writes_the_key(no_fk_models, session):
    User, Order = no_fk_models
    assert User.orders.property.direction == "ONETOMANY"
    assert Order.user.property.direction == "MANYTOONE"
    u = User(id=1, name="u", orders=[Order(id=10), Order(id=11)])
    session.add(u)
    session.commit()
    rows = session.execute(select(Order.__table__.c.id, Order.__table__.c.user_id)
                           .order_by(Order.__table__.c.id)).all()
    assert rows == [(10, 1), (11, 1)]
    session.expunge_all()
    assert [o.id for o in session.get(User, 1).orders] == [10, 11]
    assert session.get(Order, 11).user.name == "u"


def test_many_to_one_marked_foreign_writes_the_key(no_fk_models, session):
    User, Order = no_fk_models
    o = Order(id=5, user=User(id=2, name="v"))
    session.add(o)
    session.commit()
    assert session.execute(select(Order.__table__.c.user_id)).scalar_one() == 2


@pytest.fixture
def tree(Base, engine):
    class Node(Base):
        __tablename__ = "fr_nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer)
        parent = relationship("Node", primaryjoin="remote(Node.id) == foreign(Node.parent_id)",
                              backref="children")

    Base.metadata.create_all(engine)
    configure_mappers()
    return Node


def test_self_referential_remote_mark_makes_many_to_one(tree, session):
    Node = tree
    assert Node.parent.property.direction == "MANYTOONE"
    assert Node.children.property.direction == "ONETOMANY"
    root = Node(id=1)
    Node(id=2, parent=root)
    Node(id=3, parent=root)
    session.add(root)
    session.commit()
    t = Node.__table__
    assert session.execute(select(t.c.id, t.c.parent_id).order_by(t.c.id)).all() == [
        (1, None), (2, 1), (3, 1)]
    session.expunge_all()
    assert sorted(n.id for n in session.get(Node, 1).children) == [2, 3]


def test_marks_leave_the_original_columns_unchanged(no_fk_models):
    User, Order = no_fk_models
    marked = foreign(Order.__table__.c.user_id)
    assert marked is not Order.__table__.c.user_id
    assert not Order.__table__.c.user_id._annotations
    assert remote(marked)._annotations == {"foreign": True, "remote": True}


def test_marking_a_non_expression_is_refused():
    with pytest.raises(exc.ArgumentError, match="foreign\\(\\) takes a column"):
        foreign(42)
