"""A subclass defining its own descriptor (``@property``, a custom descriptor) under
the name of a column attribute of its mapped base: the subclass's mapper leaves
that attribute out, and the descriptor keeps answering on the subclass's objects."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import class_mapper, declarative_base, registry, select


class _Upper:
    def __get__(self, obj, owner):
        return self if obj is None else "from the descriptor"


@pytest.mark.parametrize("descriptor", ["property", "custom"])
def test_classical_subclass_descriptor_hides_base_column(engine, make_session, read_rows,
                                                         descriptor):
    reg = registry()
    base = Table("base", reg.metadata, Column("id", Integer, primary_key=True),
                 Column("data", String(30)), Column("type", String(10)))
    sub = Table("sub", reg.metadata,
                Column("id", ForeignKey("base.id"), primary_key=True),
                Column("subdata", String(30)))

    class Base:
        pass

    if descriptor == "property":
        class Sub(Base):
            @property
            def data(self):
                return "from the descriptor"
    else:
        class Sub(Base):
            data = _Upper()

    reg.map_imperatively(Base, base, polymorphic_on=base.c.type, polymorphic_identity="b")
    reg.map_imperatively(Sub, sub, inherits=Base, polymorphic_identity="s")
    reg.metadata.create_all(engine)
    s = make_session()
    b, sb = Base(), Sub()
    b.data = "column value"
    sb.subdata = "x"
    s.add_all([b, sb])
    s.commit()
    assert read_rows("SELECT id, data, type FROM base ORDER BY id") == [
        (1, "column value", "b"), (2, None, "s")]
    s.close()
    assert s.get(Base, 1).data == "column value"
    assert s.get(Sub, 2).data == "from the descriptor"
    assert [o.data for o in s.scalars(select(Base).order_by(Base.id))] == [
        "column value", "from the descriptor"]
    assert "data" not in class_mapper(Sub).attrs
    assert "data" in class_mapper(Base).attrs


def test_declarative_subclass_property_hides_base_column(engine, make_session):
    Base = declarative_base()

    class Item(Base):
        __tablename__ = "item"
        id = Column(Integer, primary_key=True)
        label = Column(String(30))
        type = Column(String(10))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "item"}

    class Special(Item):
        __mapper_args__ = {"polymorphic_identity": "special"}

        @property
        def label(self):
            return "special"

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Item(label="plain"), Special()])
    s.commit()
    s.close()
    assert [(type(o).__name__, o.label) for o in s.scalars(select(Item).order_by(Item.id))] \
        == [("Item", "plain"), ("Special", "special")]


def _declared_attr_hierarchy(Base, override):
    """Person with declared_attr attributes (a column, a column_property); Engineer, a
    joined subclass, overrides them as ``override`` says."""
    from sqlalchemy.ext.hybrid import hybrid_property

    from datamapper import column_property, declared_attr

    class Person(Base):
        __tablename__ = "da_person"
        id = Column(Integer, primary_key=True)
        type = Column(String(10))
        first = Column(String(10))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "p"}

        @declared_attr
        def title(cls):
            return Column(String(10))

        @declared_attr
        def label(cls):
            return column_property(cls.first + "!")

    body = {"__tablename__": "da_engineer",
            "id": Column(ForeignKey("da_person.id"), primary_key=True),
            "__mapper_args__": {"polymorphic_identity": "e"}}
    if override == "plain":
        body.update(title="plain title", label="plain label")
    elif override == "method":
        body.update(title=lambda self: "method title", label=lambda self: "method label")
    elif override == "hybrid":
        body.update(title=hybrid_property(lambda self: "hybrid title"),
                    label=hybrid_property(lambda self: "hybrid label"))
    elif override == "abstract middle":
        Mid = type("Mid", (Person,), {"__abstract__": True, "title": "plain title",
                                      "label": "plain label"})
        return Person, type("Engineer", (Mid,), body)
    return Person, type("Engineer", (Person,), body)


@pytest.mark.parametrize("override", ["plain", "method", "hybrid", "abstract middle"])
def test_subclass_attribute_over_base_declared_attr_wins(engine, make_session, read_rows,
                                                         override):
    Base = declarative_base()
    Person, Engineer = _declared_attr_hierarchy(Base, override)
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Person(first="p", title="boss"), Engineer(first="e")])
    s.commit()
    assert read_rows("SELECT first, title FROM da_person ORDER BY id") == [
        ("p", "boss"), ("e", None)]
    s.close()
    eng = s.scalars(select(Engineer)).one()
    title = eng.title() if override == "method" else eng.title
    label = eng.label() if override == "method" else eng.label
    expected = "plain" if override == "abstract middle" else override
    assert (title, label) == (f"{expected} title", f"{expected} label")
    person = s.scalars(select(Person).where(Person.type == "p")).one()
    assert (person.title, person.label) == ("boss", "p!")
    assert {"title", "label"}.isdisjoint(class_mapper(Engineer).attrs.keys())
