"""A related object outside the session (no save-update cascade brought it in) is
left out of the flush with an SAWarning saying so, for every relationship direction;
the rows written are the ones of objects in the session only."""

import warnings

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, select

from datamapper import exc, relationship


@pytest.fixture
def models(Base, engine):
    link = Table("nis_link", Base.metadata,
                 Column("p_id", Integer, ForeignKey("nis_parent.id"), primary_key=True),
                 Column("t_id", Integer, ForeignKey("nis_tag.id"), primary_key=True))

    class Tag(Base):
        __tablename__ = "nis_tag"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Child(Base):
        __tablename__ = "nis_child"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("nis_parent.id"))

    class Parent(Base):
        __tablename__ = "nis_parent"
        id = Column(Integer, primary_key=True)
        children = relationship(Child, cascade="merge")
        tags = relationship(Tag, secondary=link, cascade="merge")

    class Holder(Base):
        __tablename__ = "nis_holder"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("nis_parent.id"))
        parent = relationship(Parent, cascade="merge")

    Base.metadata.create_all(engine)
    return Parent, Child, Tag, Holder, link


def test_one_to_many_child_not_in_session_warns_and_is_not_written(models, session):
    Parent, Child, _Tag, _Holder, _link = models
    p = Parent(id=1)
    p.children.append(Child(id=1))
    session.add(p)
    with pytest.warns(exc.SAWarning, match="not in session"):
        session.flush()
    assert session.execute(select(Child.__table__)).all() == []


def test_one_to_many_expunged_persistent_child_keeps_its_row(models, session):
    Parent, Child, _Tag, _Holder, _link = models
    c = Child(id=1)
    session.add(c)
    session.flush()
    session.expunge(c)
    p = Parent(id=1)
    session.add(p)
    p.children.append(c)
    with pytest.warns(exc.SAWarning, match="not in session"):
        session.flush()
    assert session.execute(select(Child.__table__.c.parent_id)).scalars().all() == [None]


def test_many_to_one_target_not_in_session_warns(models, session):
    Parent, _Child, _Tag, Holder, _link = models
    h = Holder(id=1, parent=Parent(id=1))
    session.add(h)
    with pytest.warns(exc.SAWarning, match="not in session"):
        session.flush()
    assert session.execute(select(Holder.__table__.c.parent_id)).scalars().all() == [None]
    assert session.execute(select(Parent.__table__)).all() == []


def test_many_to_many_member_not_in_session_warns(models, session):
    Parent, _Child, Tag, _Holder, link = models
    p = Parent(id=1, tags=[Tag(id=1)])
    session.add(p)
    with pytest.warns(exc.SAWarning, match="not in session"):
        session.flush()
    assert session.execute(select(link)).all() == []


def test_members_in_session_flush_without_warning(models, session):
    Parent, Child, Tag, Holder, link = models
    p = Parent(id=1, children=[Child(id=1)], tags=[Tag(id=1)])
    session.add_all([p, *p.children, *p.tags, Holder(id=1, parent=p)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session.flush()
    assert session.execute(select(link)).all() == [(1, 1)]
