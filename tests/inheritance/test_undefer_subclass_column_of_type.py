"""``xload(Parent.entity.of_type(Sub)).undefer(Sub.name)``: an option naming a column of
the joined-table subclass the relationship's ``of_type()`` names (it raised KeyError)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import defaultload, joinedload, lazyload, relationship, selectinload


@pytest.mark.parametrize("loader", [defaultload, lazyload, selectinload, joinedload])
def test_undefer_of_subclass_column_through_of_type(Base, engine, make_session, loader):
    class Entity(Base):
        __tablename__ = "entity"
        id = Column(Integer, primary_key=True)
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "entity"}

    class SubEntity(Entity):
        __tablename__ = "sub_entity"
        id = Column(ForeignKey("entity.id"), primary_key=True)
        name = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "sub"}

    class Parent(Base):
        __tablename__ = "parent"
        id = Column(Integer, primary_key=True)
        entity_id = Column(ForeignKey("entity.id"))
        entity = relationship(Entity)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Parent(id=1, entity=SubEntity(id=1, name="some name")))
    s.commit()
    s.close()
    s = make_session()
    opt = loader(Parent.entity.of_type(SubEntity)).undefer(SubEntity.name)
    parent = s.scalars(sa.select(Parent).options(opt)).first()
    assert parent.entity.name == "some name"
