"""before_configured / after_configured (on the Mapper class, a registry or a
declarative base) and instrument_class (on the Mapper class)."""

import pytest
from sqlalchemy import Column, Integer, MetaData, Table

import datamapper
from datamapper import Mapper, configure_mappers, registry
from datamapper.exc import InvalidRequestError


def _declare(base, name):
    return type(name, (base,), {"__tablename__": name.lower(),
                                "id": Column(Integer, primary_key=True)})


@pytest.mark.parametrize("where", ["registry", "generated_base", "declarative_base"])
def test_registry_and_base_listeners_get_the_registry(listen, where):
    reg = registry()
    if where == "declarative_base":
        class Base(datamapper.DeclarativeBase):
            registry = reg
    else:
        Base = reg.generate_base()
    target = reg if where == "registry" else Base
    calls = []
    listen(target, "before_configured", lambda r: calls.append(("before", r)))
    listen(target, "after_configured", lambda r: calls.append(("after", r)))
    _declare(Base, "Thing")
    reg.configure()
    assert calls == [("before", reg), ("after", reg)]
    reg.configure()  # nothing left to configure: no events
    assert len(calls) == 2


def test_mapper_class_listeners_fire_once_per_configuration(listen):
    calls = []
    listen(Mapper, "before_configured", lambda: calls.append("before"))
    listen(Mapper, "after_configured", lambda: calls.append("after"))
    reg = registry()
    Base = reg.generate_base()
    _declare(Base, "A")
    _declare(Base, "B")
    configure_mappers()
    assert calls == ["before", "after"]


def test_configure_events_refused_on_one_mapped_class(listen):
    reg = registry()
    Base = reg.generate_base()
    thing = _declare(Base, "Thing")
    with pytest.raises(InvalidRequestError, match="listen on the Mapper class, a registry"):
        datamapper.event.listen(thing, "before_configured", lambda: None)


def test_instrument_class_fires_before_the_class_is_instrumented(listen):
    seen = []

    def instrument_class(mapper, cls):
        seen.append((cls, hasattr(cls, "id")))

    listen(Mapper, "instrument_class", instrument_class)
    reg = registry()

    class Plain:
        pass

    table = Table("plain", MetaData(), Column("id", Integer, primary_key=True))
    reg.map_imperatively(Plain, table)
    assert seen == [(Plain, False)]
    assert "id" in Plain.__dict__  # instrumented after the event
