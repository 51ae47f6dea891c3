"""``column_property(..., comparator_factory=...)``: a ``ColumnProperty.Comparator``
subclass redefines the attribute's SQL operators or adds methods; the class attribute,
an ``aliased()`` entity's and Core ``select()`` all use it."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Integer, String, func

from datamapper import (
    ColumnProperty,
    PropComparator,
    aliased,
    column_property,
    deferred,
    select,
)


class CaseInsensitive(ColumnProperty.Comparator):
    def __eq__(self, other):  # type: ignore[override]
        return func.lower(self.__clause_element__()) == func.lower(other)

    def startswith_ci(self, prefix):
        return func.lower(self.__clause_element__()).like(func.lower(prefix) + "%")


def _model(Base, engine, make_session):
    class User(Base):
        __tablename__ = "cmp_users"
        id = Column(Integer, primary_key=True)
        name = column_property(Column(String(30)), comparator_factory=CaseInsensitive)
        note = deferred(Column(String(30)), comparator_factory=CaseInsensitive)
        plain = Column(String(30))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="Ed", note="Hi", plain="Ed"),
               User(id=2, name="Wendy", note="yo", plain="wendy")])
    s.commit()
    s.close()
    return User


def test_redefined_operator_is_the_sql_sent(Base, engine, make_session, sql_log):
    User = _model(Base, engine, make_session)
    s = make_session()
    for stmt in (select(User).where(User.name == "ED"), sa.select(User).where(User.name == "ED")):
        assert "lower(cmp_users.name) = lower(" in str(stmt)
        assert [u.id for u in s.scalars(stmt)] == [1]
    assert [u.id for u in s.query(User).filter(User.note == "HI")] == [1]
    assert [u.id for u in s.scalars(select(User).where(User.name.startswith_ci("w")))] == [2]
    # operators the comparator leaves alone are the column's
    assert [u.id for u in s.scalars(select(User).where(User.name != "Ed"))] == [2]
    assert "cmp_users.plain = " in str(select(User).where(User.plain == "ED"))
    assert isinstance(User.name.comparator, CaseInsensitive)
    assert User.name.comparator.prop is User.name.property


def test_an_alias_compares_through_the_comparator_too(Base, engine, make_session):
    User = _model(Base, engine, make_session)
    ua = aliased(User, name="ua")
    s = make_session()
    stmt = select(ua).where(ua.name == "wENDY")
    assert "lower(ua.name) = lower(" in str(stmt)
    assert [u.id for u in s.scalars(stmt)] == [2]


def test_default_comparator_is_the_column(Base, engine, make_session):
    User = _model(Base, engine, make_session)
    cmp = ColumnProperty.Comparator(User.plain.property, User.plain.parent, User.plain)
    assert str(cmp == "x") == str(User.plain == "x")


def _synonym_model(Base, engine, make_session, factory=CaseInsensitive):
    from datamapper import relationship, synonym

    class Owner(Base):
        __tablename__ = "cmp_owners"
        id = Column(Integer, primary_key=True)
        _name = Column("name", String(30))
        name = synonym("_name", comparator_factory=factory, info={"label": "Name"},
                       doc="the owner's name")
        pets = relationship("Pet")
        animals = synonym("pets")

    class Pet(Base):
        __tablename__ = "cmp_pets"
        id = Column(Integer, primary_key=True)
        owner_id = Column(sa.ForeignKey("cmp_owners.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Owner(id=1, name="Ed", pets=[Pet(id=1)]), Owner(id=2, name="Wendy")])
    s.commit()
    s.close()
    return Owner, Pet


def test_synonym_comparator_factory_is_the_sql_sent(Base, engine, make_session):
    Owner, _Pet = _synonym_model(Base, engine, make_session)
    s = make_session()
    stmt = select(Owner).where(Owner.name == "ED")
    assert "lower(cmp_owners.name) = lower(" in str(stmt)
    assert [o.id for o in s.scalars(stmt)] == [1]
    oa = aliased(Owner, name="oa")
    assert "lower(oa.name) = lower(" in str(select(oa).where(oa.name == "ED"))
    assert [o.id for o in s.scalars(select(oa).where(oa.name == "wendy"))] == [2]


def test_synonym_info_doc_and_relationship_operators(Base, engine, make_session):
    Owner, Pet = _synonym_model(Base, engine, make_session)
    prop = sa.inspect(Owner).synonyms["name"]
    assert prop.info == {"label": "Name"} and prop.doc == "the owner's name"
    s = make_session()
    pet = s.get(Pet, 1)
    assert [o.id for o in s.scalars(select(Owner).where(Owner.animals.any()))] == [1]
    assert [o.id for o in s.scalars(select(Owner).where(Owner.animals.contains(pet)))] == [1]


def test_synonym_refuses_unknown_keywords():
    from datamapper import synonym

    with pytest.raises(sa.exc.ArgumentError, match="comparatorfactory"):
        synonym("name", comparatorfactory=CaseInsensitive)


def test_attribute_info_is_the_columns_or_the_propertys(Base, engine, make_session):
    from datamapper import relationship

    class Item(Base):
        __tablename__ = "cmp_items"
        id = Column(Integer, primary_key=True, info={"pk": True})
        name = Column(String(30))
        lowered = column_property(func.lower(name), info={"computed": True})
        parts = relationship("Part", info={"rel": True})

    class Part(Base):
        __tablename__ = "cmp_parts"
        id = Column(Integer, primary_key=True)
        item_id = Column(sa.ForeignKey("cmp_items.id"))

    assert Item.id.info is Item.__table__.c.id.info and Item.id.info == {"pk": True}
    assert Item.lowered.info is Item.lowered.property.info == {"computed": True}
    assert Item.parts.info is Item.parts.property.info == {"rel": True}


def test_relationship_comparator_factory_redefines_its_operators(Base, engine, make_session):
    from datamapper import RelationshipProperty, relationship

    class ByPetCount(RelationshipProperty.Comparator):
        def any(self, criterion=None, **kw):
            # "any" means at least two here; the default any() stays reachable
            return select(func.count(Pet.id)).where(
                Pet.owner_id == Owner.id).scalar_subquery() >= 2

    class Owner(Base):
        __tablename__ = "cmp_rowners"
        id = Column(Integer, primary_key=True)
        pets = relationship("Pet", comparator_factory=ByPetCount)

    class Pet(Base):
        __tablename__ = "cmp_rpets"
        id = Column(Integer, primary_key=True)
        owner_id = Column(sa.ForeignKey("cmp_rowners.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Owner(id=1, pets=[Pet(id=1), Pet(id=2)]), Owner(id=2, pets=[Pet(id=3)]),
               Owner(id=3)])
    s.commit()
    assert [o.id for o in s.scalars(select(Owner).where(Owner.pets.any()))] == [1]
    pet3 = s.get(Pet, 3)
    # operators it leaves alone are the relationship's own
    assert [o.id for o in s.scalars(select(Owner).where(Owner.pets.contains(pet3)))] == [2]
    assert [p.id for p in s.scalars(select(Pet).where(Pet.owner_id == 1).order_by(Pet.id))] == \
        [1, 2]
    assert isinstance(Owner.pets.comparator, ByPetCount)


# -- PropComparator: the importable common base (2.x code subclasses it) ------------

def test_every_attribute_comparator_is_a_prop_comparator(Base, engine, make_session):
    from sqlalchemy import ForeignKey

    from datamapper import composite, relationship

    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __composite_values__(self):
            return self.x, self.y

    class Owner(Base):
        __tablename__ = "pc_owners"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        x = Column(Integer)
        y = Column(Integer)
        at = composite(Point, x, y)
        pets = relationship("Pet")

    class Pet(Base):
        __tablename__ = "pc_pets"
        id = Column(Integer, primary_key=True)
        owner_id = Column(Integer, ForeignKey("pc_owners.id"))

    for attr in (Owner.name, Owner.at, Owner.pets):
        assert isinstance(attr.comparator, PropComparator), attr
    assert isinstance(CaseInsensitive.__mro__, tuple) and PropComparator in CaseInsensitive.__mro__
    # subscriptable, as in annotations and class bases
    assert PropComparator[int] is not None


class _Trimmed(PropComparator[str]):
    """A direct subclass: it says which SQL the attribute is."""

    def __clause_element__(self):
        return func.trim(self.prop.columns[0])


class _NoClause(PropComparator[str]):
    pass


def test_a_direct_prop_comparator_subclass_compares_its_own_expression(
        Base, engine, make_session):
    class Tag(Base):
        __tablename__ = "pc_tags"
        id = Column(Integer, primary_key=True)
        label = column_property(Column(String(30)), comparator_factory=_Trimmed)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Tag(id=1, label="  red "), Tag(id=2, label="blue")])
    s.commit()
    stmt = select(Tag).where(Tag.label == "red")
    assert "trim(pc_tags.label) = " in str(stmt)
    assert [t.id for t in s.scalars(stmt)] == [1]
    assert [t.id for t in s.query(Tag).filter(Tag.label.in_(["blue", "red"])).order_by(Tag.id)] \
        == [1, 2]


def test_a_prop_comparator_without_an_expression_is_refused_by_name(Base, engine):
    from sqlalchemy.exc import InvalidRequestError

    class Tag(Base):
        __tablename__ = "pc_tags2"
        id = Column(Integer, primary_key=True)
        label = column_property(Column(String(30)), comparator_factory=_NoClause)

    with pytest.raises(InvalidRequestError, match="_NoClause.*'label'.*__clause_element__"):
        select(Tag).where(Tag.label == "x")
