"""Listeners given propagate=True on a mapped class, a Mapper or a mapped attribute
reach the same target of its subclasses, whether the subclass was mapped before or
after the listener was added; removing the listener removes it there too.  Without
propagate=True a listener stays on the target it was given to."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import event


@pytest.fixture
def hierarchy(Base, engine):
    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        kind = Column(String(20))
        name = Column(String(50))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "engineers"
        id = Column(Integer, ForeignKey("people.id"), primary_key=True)
        language = Column(String(50))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    Base.metadata.create_all(engine)
    return Person, Engineer


@pytest.mark.parametrize("target", ["class", "mapper"])
def test_propagated_mapper_listener_reaches_a_subclass_mapped_earlier(
        hierarchy, make_session, read_rows, target):
    Person, Engineer = hierarchy
    on = Person if target == "class" else Person.__mapper__
    seen, own = [], []
    event.listen(on, "init", lambda obj, args, kw: seen.append(("init", type(obj))),
                 propagate=True)
    event.listen(on, "before_insert", lambda m, c, obj: seen.append(("insert", type(obj))),
                 propagate=True)
    event.listen(on, "before_insert", lambda m, c, obj: own.append(type(obj)))
    s = make_session()
    s.add_all([Person(name="p"), Engineer(name="e", language="py")])
    s.commit()
    assert sorted(seen, key=str) == sorted(
        [("init", Person), ("init", Engineer), ("insert", Person), ("insert", Engineer)],
        key=str)
    assert own == [Person]  # not propagated: the base only
    assert [r[1:] for r in read_rows(Person.__table__)] == [("person", "p"), ("engineer", "e")]


def test_removing_a_propagated_mapper_listener_removes_it_from_subclasses(hierarchy):
    Person, Engineer = hierarchy
    seen = []

    def init(obj, args, kw):
        seen.append(type(obj))

    event.listen(Person, "init", init, propagate=True)
    Engineer()
    event.remove(Person, "init", init)
    Engineer()
    Person()
    assert seen == [Engineer]
    assert not event.contains(Person, "init", init)


def test_propagated_attribute_listener_reaches_subclass_attribute(hierarchy, make_session,
                                                                   read_rows):
    Person, Engineer = hierarchy
    seen = []

    def on_set(target, value, old, initiator):
        seen.append((type(target), value))

    event.listen(Person.name, "set", on_set, propagate=True)
    e = Engineer()
    e.name = "ed"
    p = Person()
    p.name = "pat"
    event.remove(Person.name, "set", on_set)
    e.name = "jack"
    assert seen == [(Engineer, "ed"), (Person, "pat")]
    s = make_session()
    s.add(e)
    s.commit()
    assert [r[1:] for r in read_rows(Person.__table__)] == [("engineer", "jack")]


def test_attribute_listener_without_propagate_stays_on_the_base(hierarchy):
    Person, Engineer = hierarchy
    seen = []
    event.listen(Person.name, "set", lambda t, v, o, i: seen.append(type(t)))
    e = Engineer()
    e.name = "ed"
    Person().name = "pat"
    assert seen == [Person]


def test_propagated_listeners_reach_a_subclass_mapped_later(Base, engine):
    class Thing(Base):
        __tablename__ = "things"
        id = Column(Integer, primary_key=True)
        kind = Column(String(20))
        name = Column(String(50))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "thing"}

    seen = []
    event.listen(Thing.name, "set", lambda t, v, o, i: seen.append(("set", type(t))),
                 propagate=True)
    event.listen(Thing, "init", lambda t, a, k: seen.append(("init", type(t))),
                 propagate=True)

    class Gadget(Thing):
        __mapper_args__ = {"polymorphic_identity": "gadget"}

    g = Gadget()
    g.name = "g"
    assert seen == [("init", Gadget), ("set", Gadget)]
