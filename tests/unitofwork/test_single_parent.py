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


@pytest.mark.parametrize("kind", ["m2o", "o2m", "m2m", "o2o"])
def test_parent_never_saved_and_dropped_still_owns_its_object(Base, engine, session,
                                                              read_rows, kind):
    """The first parent was never saved and is no longer referenced: nothing released the
    object from it, so a second parent is still refused (as SQLAlchemy does); a parent
    that was saved and released from memory lets it go (its row says where it is)."""
    import gc

    link = Table("links", Base.metadata,
                 Column("p_id", Integer, ForeignKey("ps.id"), primary_key=True),
                 Column("c_id", Integer, ForeignKey("cs.id"), primary_key=True))

    class C(Base):
        __tablename__ = "cs"
        id = Column(Integer, primary_key=True)
        p_id = Column(Integer, ForeignKey("ps.id"))

    class P(Base):
        __tablename__ = "ps"
        id = Column(Integer, primary_key=True)
        c_id = Column(Integer, ForeignKey("cs.id"))
        if kind == "m2o":
            rel = relationship(C, foreign_keys=[c_id], cascade="all, delete-orphan",
                               single_parent=True)
        elif kind == "m2m":
            rel = relationship(C, secondary=link, cascade="all, delete-orphan",
                               single_parent=True)
        else:
            rel = relationship(C, foreign_keys=[C.p_id], cascade="all, delete-orphan",
                               uselist=(kind == "o2m"), single_parent=True)

    Base.metadata.create_all(engine)

    def give(p, c):
        return P(id=p, rel=[c] if kind in ("o2m", "m2m") else c)

    c = C(id=1)
    give(1, c)  # never added anywhere, dropped at once
    gc.collect()
    with pytest.raises(exc.InvalidRequestError, match="single parent"):
        give(2, c)

    c2 = C(id=2)
    session.add(give(3, c2))
    session.commit()
    session.expunge_all()  # the saved parent is no longer referenced
    gc.collect()
    c2 = session.get(C, 2)
    session.add(give(4, c2))
    session.commit()
    if kind == "m2m":
        assert read_rows(link) == [(3, 2), (4, 2)]
    else:
        assert session.get(P, 4).rel in (c2, [c2])


def test_backref_records_the_owner_of_a_single_parent_reference(Base, engine, session,
                                                                read_rows):
    """One-to-one with single_parent on the many-to-one backref: ``u.address = a`` makes
    ``a`` belong to ``u`` (the backref records it), so a second Address naming ``u`` is
    refused; assigning through the other side moves it and releases the old one."""
    from datamapper import backref

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        address = relationship(Address, uselist=False,
                               backref=backref("user", single_parent=True))

    Base.metadata.create_all(engine)
    a1 = Address(id=1)
    u1 = User(id=1, address=a1)
    with pytest.raises(exc.InvalidRequestError, match="single parent"):
        Address(id=2, user=u1)
    a2 = Address(id=3)
    u1.address = a2  # through the one-to-many side: a1 lets go of u1
    assert a1.user is None and a2.user is u1
    a3 = Address(id=4)
    a3.user = User(id=2)
    session.add_all([a1, a2, a3, u1])
    session.commit()
    assert read_rows(Address.__table__) == [(1, None), (3, 1), (4, 2)]
