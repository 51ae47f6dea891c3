"""post_update=True on one side of a backref pair: the foreign key both sides write is
written by a post-update, whichever side's change the flush reads last.  When the
non-post_update side was read after it (the children added to the session after the
parent), the children were INSERTed before their parent (a cycle through another
relationship put them first) with a NULL foreign key that nothing UPDATEd: lost."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import backref, relationship


def _models(Base, engine, post_side):
    class Person(Base):
        __tablename__ = "pub_person"
        id = Column(Integer, primary_key=True)
        favorite_ball_id = Column(Integer, ForeignKey("pub_ball.id"))
        data = Column(String(30))
        balls = relationship(
            "Ball", primaryjoin="Ball.person_id == Person.id", order_by="Ball.id",
            post_update=post_side == "one_to_many",
            backref=backref("person", post_update=post_side == "many_to_one"))
        favorite = relationship("Ball", primaryjoin="Person.favorite_ball_id == Ball.id")

    class Ball(Base):
        __tablename__ = "pub_ball"
        id = Column(Integer, primary_key=True)
        person_id = Column(Integer, ForeignKey("pub_person.id", use_alter=True,
                                               name="fk_pub_ball_person"))
        data = Column(String(30))

    Base.metadata.create_all(engine)
    return Person, Ball


@pytest.mark.parametrize("post_side", ["one_to_many", "many_to_one"])
@pytest.mark.parametrize("order", ["children_last", "children_first"])
def test_every_child_gets_the_parent_key(Base, engine, session, read_rows, post_side,
                                         order):
    Person, Ball = _models(Base, engine, post_side)
    balls = [Ball(id=i, data=f"b{i}") for i in (1, 2, 3, 4)]
    p = Person(id=1, data="p")
    for b in balls:
        p.balls.append(b)
    p.favorite = balls[0]
    session.add_all([p, *balls] if order == "children_last" else [*balls, p])
    session.commit()
    assert read_rows(Ball.__table__) == [(i, 1, f"b{i}") for i in (1, 2, 3, 4)]
    assert read_rows(Person.__table__) == [(1, 1, "p")]
    session.delete(p)
    for b in balls:
        session.delete(b)
    session.commit()
    assert read_rows(Ball.__table__) == []
