"""``session.delete()`` follows a delete cascade through relationships configured
lazy="raise" / "raise_on_sql" or loaded with raiseload(): the cascade loads what it
needs (as the flush does) and the children's rows are deleted."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, declarative_base, raiseload, relationship


@pytest.fixture(params=["raise", "raise_on_sql", "raiseload-option"])
def models(request, metadata, engine):
    Base = declarative_base(metadata=metadata)
    lazy = "select" if request.param == "raiseload-option" else request.param

    class Parent(Base):
        __tablename__ = "parents"
        id = Column(Integer, primary_key=True)
        children = relationship("Child", cascade="all, delete-orphan", lazy=lazy)
        only = relationship("Only", cascade="all, delete-orphan", lazy=lazy, uselist=False)

    class Child(Base):
        __tablename__ = "children"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("parents.id"))

    class Only(Base):
        __tablename__ = "onlies"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("parents.id"))
        name = Column(String(20))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Parent(id=1, children=[Child(id=1), Child(id=2)], only=Only(id=1)))
        s.commit()
    return Parent, request.param


def _counts(engine):
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(f"select count(*) from {t}")).scalar()
                     for t in ("parents", "children", "onlies"))


@pytest.mark.parametrize("where", ["persistent", "detached"])
def test_delete_cascades_through_raising_relationships(models, engine, where):
    Parent, how = models
    with Session(engine) as s:
        q = s.query(Parent)
        if how == "raiseload-option":
            q = q.options(raiseload(Parent.children), raiseload(Parent.only))
        p = q.one()
        if where == "detached":
            s.close()
        s.delete(p)
        s.commit()
    assert _counts(engine) == (0, 0, 0)
