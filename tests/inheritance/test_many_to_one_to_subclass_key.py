"""A many-to-one whose foreign key refers to a joined-table subclass's own key column
(``related.sub_id -> sub.id``, the subclass's key being ``base.id`` too): the lazy
load is a primary-key lookup, answered from the identity map without SQL."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import (
    declarative_base,
    immediateload,
    joinedload,
    relationship,
    select,
    selectinload,
)


def _models():
    Base = declarative_base()

    class Thing(Base):
        __tablename__ = "base"
        id = Column(Integer, primary_key=True)
        type = Column(String(10))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "b"}

    class Sub(Thing):
        __tablename__ = "sub"
        id = Column(ForeignKey("base.id"), primary_key=True)
        __mapper_args__ = {"polymorphic_identity": "s"}

    class Related(Base):
        __tablename__ = "related"
        id = Column(Integer, primary_key=True)
        sub_id = Column(ForeignKey("sub.id"))
        sub = relationship(Sub)

    return Base, Sub, Related


def test_lazy_load_of_subclass_in_identity_map_emits_no_sql(engine, make_session, sql_log):
    Base, Sub, Related = _models()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Related(id=1, sub=Sub(id=5)))
    s.commit()
    s.close()
    sub = s.get(Sub, 5)
    (r,) = s.scalars(select(Related)).all()
    sql_log.clear()
    assert r.sub is sub
    assert sql_log.count == 0
    assert Related.sub.property.strategy.use_get


@pytest.mark.parametrize("loader", [None, joinedload, selectinload, immediateload])
def test_many_to_one_to_subclass_loads_it(engine, make_session, loader):
    Base, Sub, Related = _models()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Related(id=1, sub=Sub(id=5)), Related(id=2), Sub(id=6), Sub(id=4)])
    s.commit()
    s.close()
    stmt = select(Related).order_by(Related.id)
    if loader is not None:
        stmt = stmt.options(loader(Related.sub))
    for warm in (False, True):  # the Sub not in the identity map, then in it
        got = [(r.id, r.sub and (type(r.sub).__name__, r.sub.id))
               for r in s.scalars(stmt)]
        assert got == [(1, ("Sub", 5)), (2, None)], warm
        s.expire_all()
