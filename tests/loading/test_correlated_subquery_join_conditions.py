"""A relationship whose join condition holds a correlated subquery (the "latest child"
recipe: ``Stuff.id == select(...).where(alias.user_id == User.id).correlate(users)
.order_by(...).limit(1).scalar_subquery()``): it configures (the subquery's own
comparison is not taken for a foreign key pair) and loads the same rows lazily,
joined and through selectin."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, and_, select

from datamapper import Session, declarative_base, joinedload, relationship, selectinload


@pytest.fixture(params=[True, False], ids=["uselist", "scalar"])
def models(request, metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "cs_users"
        id = Column(Integer, primary_key=True)

    class Stuff(Base):
        __tablename__ = "cs_stuff"
        id = Column(Integer, primary_key=True)
        date = Column(Integer)
        user_id = Column(ForeignKey("cs_users.id"))

    other = Stuff.__table__.alias()
    newest = (select(other.c.id).where(other.c.user_id == User.id)
              .correlate(User.__table__).order_by(other.c.date.desc()).limit(1)
              .scalar_subquery())
    User.latest = relationship(Stuff, primaryjoin=and_(User.id == Stuff.user_id,
                                                       Stuff.id == newest),
                               uselist=request.param, viewonly=True)
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=1), User(id=2), User(id=3),
                   Stuff(id=1, date=1, user_id=1), Stuff(id=2, date=5, user_id=1),
                   Stuff(id=3, date=2, user_id=2)])
        s.commit()
    return User, request.param


@pytest.mark.parametrize("option", [None, joinedload, selectinload])
def test_latest_child_loads_the_same_rows_with_every_loader(models, engine, option):
    User, uselist = models
    stmt = select(User).order_by(User.id)
    if option is not None:
        stmt = stmt.options(option(User.latest))
    with Session(engine) as s:
        got = [(u.id, u.latest) for u in s.scalars(stmt).unique()]
        ids = [(uid, [x.id for x in v] if uselist else (v.id if v else None))
               for uid, v in got]
    assert ids == ([(1, [2]), (2, [3]), (3, [])] if uselist else [(1, 2), (2, 3), (3, None)])
