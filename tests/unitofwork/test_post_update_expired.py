"""post_update UPDATEs find their row by the key the object was loaded with, also
when the object is expired (after a commit) and its key is not in its ``__dict__``."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import backref, relationship


@pytest.fixture
def ball_person(Base, engine):
    class Person(Base):
        __tablename__ = "person"
        id = Column(Integer, primary_key=True)
        favorite_ball_id = Column(Integer, ForeignKey("ball.id", use_alter=True,
                                                      name="fk_fav_ball"))
        data = Column(String(30))
        balls = relationship("Ball", primaryjoin="Ball.person_id == Person.id",
                             post_update=True,
                             backref=backref("person", post_update=True))
        favorite = relationship("Ball", foreign_keys=[favorite_ball_id])

    class Ball(Base):
        __tablename__ = "ball"
        id = Column(Integer, primary_key=True)
        person_id = Column(Integer, ForeignKey("person.id"))
        data = Column(String(30))

    Base.metadata.create_all(engine)
    return Person, Ball


def test_post_update_many_to_one_of_an_expired_object_updates_its_row(
        ball_person, session, read_rows):
    Person, Ball = ball_person
    p1, p2 = Person(data="p1"), Person(data="p2")
    b1 = Ball(data="b1", person=p1)
    session.add_all([p1, p2])
    session.commit()  # b1 and p2 are expired now
    b1.person = p2
    session.commit()
    assert read_rows("SELECT b.data, p.data FROM ball b JOIN person p ON p.id = b.person_id"
                     ) == [("b1", "p2")]
    assert b1.person is p2


def test_post_update_one_to_many_append_of_an_expired_child_updates_its_row(
        ball_person, session, read_rows):
    Person, Ball = ball_person
    p1, p3 = Person(data="p1"), Person(data="p3")
    b1 = Ball(data="b1", person=p1)
    session.add_all([p1, p3])
    session.commit()
    p3.balls.append(b1)
    session.commit()
    assert read_rows("SELECT b.data, p.data FROM ball b JOIN person p ON p.id = b.person_id"
                     ) == [("b1", "p3")]
    assert b1.person is p3


def test_post_update_of_an_expired_object_loaded_in_another_session(
        ball_person, session, make_session, read_rows):
    Person, Ball = ball_person
    session.add_all([Ball(data="b1", person=Person(data="p1")), Person(data="p2")])
    session.commit()
    s2 = make_session()
    b1 = s2.query(Ball).one()
    p2 = s2.query(Person).filter_by(data="p2").one()
    s2.expire(b1)
    b1.person = p2
    s2.commit()
    assert read_rows("SELECT b.data, p.data FROM ball b JOIN person p ON p.id = b.person_id"
                     ) == [("b1", "p2")]


def test_post_update_self_referential_expired_row(Base, engine, session, read_rows):
    class Node(Base):
        __tablename__ = "node"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("node.id"))
        name = Column(String(20))
        parent = relationship("Node", remote_side=[id], post_update=True)

    Base.metadata.create_all(engine)
    a, b = Node(name="a"), Node(name="b")
    session.add_all([a, b])
    session.commit()  # both expired
    b.parent = a
    a.parent = b
    session.commit()
    assert read_rows("SELECT n.name, p.name FROM node n JOIN node p ON p.id = n.parent_id "
                     "ORDER BY n.name") == [("a", "b"), ("b", "a")]
