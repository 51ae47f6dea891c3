"""single_parent=True: an object belongs to one parent through the relationship at a
time; delete-orphan on many-to-one / many-to-many requires it (seed 002, cascades)."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import clear_mappers, configure_mappers, exc, relationship


@pytest.fixture
def m2o(Base, engine):
    class Preference(Base):
        __tablename__ = "prefs"
        id = Column(Integer, primary_key=True)
        theme = Column(String(20))

    class Member(Base):
        __tablename__ = "members"
        id = Column(Integer, primary_key=True)
        pref_id = Column(Integer, ForeignKey("prefs.id"))
        pref = relationship(Preference, cascade="all, delete-orphan", single_parent=True)

    Base.metadata.create_all(engine)
    return Member, Preference


def test_delete_orphan_on_many_to_one_without_single_parent_is_refused(Base):
    class Target(Base):
        __tablename__ = "targets"
        id = Column(Integer, primary_key=True)

    class Holder(Base):
        __tablename__ = "holders"
        id = Column(Integer, primary_key=True)
        target_id = Column(Integer, ForeignKey("targets.id"))
        target = relationship(Target, cascade="all, delete-orphan")

    try:
        with pytest.raises(exc.ArgumentError, match="single_parent=True"):
            configure_mappers()
    finally:
        clear_mappers()  # the broken mapping must not reach later tests


def test_delete_orphan_on_many_to_many_without_single_parent_is_refused(Base):
    link = Table("l", Base.metadata,
                 Column("a_id", Integer, ForeignKey("as.id")),
                 Column("b_id", Integer, ForeignKey("bs.id")))

    class B(Base):
        __tablename__ = "bs"
        id = Column(Integer, primary_key=True)

    class A(Base):
        __tablename__ = "as"
        id = Column(Integer, primary_key=True)
        bs = relationship(B, secondary=link, cascade="all, delete-orphan")

    try:
        with pytest.raises(exc.ArgumentError, match="many-to-many"):
            configure_mappers()
    finally:
        clear_mappers()


def test_second_parent_is_refused_and_nothing_changes(m2o, session, read_rows):
    Member, Preference = m2o
    p = Preference(id=1, theme="dark")
    a = Member(id=1, pref=p)
    b = Member(id=2)
    session.add_all([a, b])
    session.commit()
    with pytest.raises(exc.InvalidRequestError, match="single parent"):
        b.pref = p
    assert b.pref is None and a.pref is p
    session.commit()
    assert read_rows(Member.__table__) == [(1, 1), (2, None)]


def test_object_released_by_its_parent_may_move(m2o, session, read_rows):
    Member, Preference = m2o
    p = Preference(id=1, theme="dark")
    a = Member(id=1, pref=p)
    b = Member(id=2)
    session.add_all([a, b])
    session.flush()
    a.pref = None
    b.pref = p
    session.commit()
    assert read_rows(Member.__table__) == [(1, None), (2, 1)]
    assert read_rows(Preference.__table__) == [(1, "dark")]


def test_loaded_parent_counts_as_the_owner(m2o, make_session):
    Member, Preference = m2o
    s1 = make_session()
    s1.add(Member(id=1, pref=Preference(id=1, theme="x")))
    s1.commit()
    s1.close()
    s2 = make_session()
    a = s2.get(Member, 1)
    p = a.pref  # loaded: a owns p
    b = Member(id=2)
    s2.add(b)
    with pytest.raises(exc.InvalidRequestError, match="single parent"):
        b.pref = p


def test_single_parent_collection_refuses_a_member_of_another_parent(Base, engine, session):
    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        box_id = Column(Integer, ForeignKey("boxes.id"))

    class Box(Base):
        __tablename__ = "boxes"
        id = Column(Integer, primary_key=True)
        items = relationship(Item, single_parent=True)

    Base.metadata.create_all(engine)
    one, two, it = Box(id=1), Box(id=2), Item(id=1)
    one.items.append(it)
    with pytest.raises(exc.InvalidRequestError, match="single parent"):
        two.items.append(it)
    one.items.remove(it)
    two.items.append(it)
    session.add_all([one, two])
    session.commit()
    assert it.box_id == 2
