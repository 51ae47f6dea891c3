"""relationship(aliased(Child), primaryjoin=...): the join condition written against
an alias of the target's table; it loads and writes as the class with that
condition, and two such relationships writing the same foreign key don't warn."""

import warnings

from sqlalchemy import Column, ForeignKey, Integer, and_, select

from datamapper import aliased, configure_mappers, joinedload, relationship


def test_relationships_to_aliases_load_and_write(Base, engine, make_session, read_rows):
    class Child(Base):
        __tablename__ = "ac_child"
        id = Column(Integer, primary_key=True)
        num = Column(Integer)
        parent_id = Column(Integer, ForeignKey("ac_parent.id"), nullable=False)

    c1, c2 = aliased(Child), aliased(Child)

    class Parent(Base):
        __tablename__ = "ac_parent"
        id = Column(Integer, primary_key=True)
        ones = relationship(c1, primaryjoin=lambda: and_(c1.parent_id == Parent.id,
                                                          c1.num == 1), order_by=c1.id)
        twos = relationship(c2, primaryjoin=lambda: and_(c2.parent_id == Parent.id,
                                                          c2.num == 2), order_by=c2.id)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        configure_mappers()
    Base.metadata.create_all(engine)

    s = make_session()
    p = Parent(id=1)
    p.ones.append(Child(id=1, num=1))
    p.twos.append(Child(id=2, num=2))
    s.add(p)
    s.commit()
    assert read_rows(Child.__table__) == [(1, 1, 1), (2, 2, 1)]
    s.close()

    p = s.get(Parent, 1)
    assert [c.id for c in p.ones] == [1] and [c.id for c in p.twos] == [2]
    assert all(type(c) is Child for c in p.ones)
    s.close()
    p = s.scalars(select(Parent).options(joinedload(Parent.ones),
                                         joinedload(Parent.twos))).unique().one()
    assert [c.id for c in p.ones] == [1] and [c.id for c in p.twos] == [2]
    assert s.scalars(select(Parent).join(Parent.twos)).all() == [p]


def test_relationship_to_aliased_class_over_its_own_table(Base, engine, make_session):
    """aliased(Child, child_table) is the class itself: the relationship configures
    and loads as relationship(Child) does."""
    class Child(Base):
        __tablename__ = "ac_child3"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("ac_parent3.id"))

    same = aliased(Child, Child.__table__)

    class Parent(Base):
        __tablename__ = "ac_parent3"
        id = Column(Integer, primary_key=True)
        kids = relationship(same, order_by=Child.id)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Parent(id=1, kids=[Child(id=1), Child(id=2)]))
    s.commit()
    s.close()
    assert [c.id for c in s.get(Parent, 1).kids] == [1, 2]
    s.close()
    p = s.scalars(select(Parent).options(joinedload(Parent.kids))).unique().one()
    assert [c.id for c in p.kids] == [1, 2]
