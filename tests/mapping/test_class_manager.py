"""``mapper.class_manager``: the instrumentation of a mapped class, a read-only mapping
of its instrumented attributes by key, with ``dispatch``, the listeners of its instance
and mapper events (firing through it reaches listeners given to the class, to a base
class with propagate=True, or before the class was mapped)."""

import pytest
from sqlalchemy import Column, Integer, String, Table

from datamapper import event, registry


@pytest.fixture
def Pet(Base):
    class Pet(Base):
        __tablename__ = "pets"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))

    return Pet


def test_attributes_by_key(Pet):
    manager = Pet.__mapper__.class_manager
    assert manager.class_ is Pet and manager.mapper is Pet.__mapper__ and manager.is_mapped
    assert sorted(manager) == ["id", "name"] and len(manager) == 2
    assert manager["name"] is Pet.name
    with pytest.raises(KeyError):
        manager["nope"]  # noqa: B018
    assert manager == Pet.__mapper__.class_manager


def test_dispatch_fires_the_class_listeners(Pet):
    seen = []
    event.listen(Pet, "load", lambda obj, ctx: seen.append((obj, ctx)))
    p = Pet(id=1)
    Pet.__mapper__.class_manager.dispatch.load(p, "ctx")
    assert seen == [(p, "ctx")]
    assert len(Pet.__mapper__.class_manager.dispatch.load) == 1


def test_listener_given_before_mapping_and_propagated_to_a_subclass(metadata):
    class Animal:
        pass

    class Dog(Animal):
        pass

    seen = []

    def on_load(obj, ctx):
        seen.append(ctx)

    event.listen(Animal, "load", on_load, propagate=True)
    try:
        table = Table("dogs", metadata, Column("id", Integer, primary_key=True))
        m = registry(metadata=metadata).map_imperatively(Dog, table)
        m.class_manager.dispatch.load(object(), "x")
        assert seen == ["x"]
    finally:
        event.remove(Animal, "load", on_load)
