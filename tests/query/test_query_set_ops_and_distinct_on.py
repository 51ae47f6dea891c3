"""Query.union() and friends over an entity with deferred columns (each side selects
them, so undefer() on the union reads them from the union, not from the table beside
it); eager joins of an entity read through a subquery (a union, aliased(cls, subquery))
start from the subquery; and Query.distinct(*expr) / Query.ext(): DISTINCT ON, which only PostgreSQL has
(other databases refuse it when the statement compiles rather than run a plain
DISTINCT, which would return other rows)."""

import pytest
import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import aliased, deferred, joinedload, relationship, undefer


@pytest.fixture
def Pet(Base, engine, make_session):
    class Pet(Base):
        __tablename__ = "pets"
        id = Column(Integer, primary_key=True)
        kind = Column(String(20))
        name = deferred(Column(String(30)))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Pet(id=1, kind="cat", name="tom"), Pet(id=2, kind="cat", name="kit"),
               Pet(id=3, kind="dog", name="rex"), Pet(id=4, kind="eel", name="zap")])
    s.commit()
    s.close()
    return Pet


def test_undefer_on_a_union_reads_the_column_from_the_union(Pet, session, sql_log):
    q1 = session.query(Pet).filter(Pet.id == 1)
    q2 = session.query(Pet).filter(Pet.kind == "dog")
    pets = q1.union(q2).options(undefer(Pet.name)).order_by(Pet.id).all()
    n = sql_log.count
    assert [(p.id, p.name) for p in pets] == [(1, "tom"), (3, "rex")]
    assert sql_log.count == n  # loaded by the union's SELECT
    outer = " ".join(sql_log.statements[-1].split())
    assert outer.endswith("AS anon_1 ORDER BY anon_1.pets_id")  # no table beside it


def test_a_union_still_defers_the_column(Pet, session, sql_log):
    pets = session.query(Pet).filter(Pet.id == 2).union_all(
        session.query(Pet).filter(Pet.id == 4)).order_by(Pet.id).all()
    n = sql_log.count
    assert [p.id for p in pets] == [2, 4]
    assert [p.name for p in pets] == ["kit", "zap"]
    assert sql_log.count == n + 2  # one load per object, on access


def test_union_with_a_core_select_side_selects_the_loaded_columns(Pet, session):
    t = Pet.__table__
    q = session.query(Pet).filter(Pet.id == 1).union(
        sqlalchemy.select(t.c.id, t.c.kind).where(t.c.id == 3))
    assert sorted(p.id for p in q) == [1, 3]


def test_distinct_on(Pet, session, engine, sql_log):
    """Query.distinct(*expr) behaves as SQLAlchemy's: DISTINCT ON on PostgreSQL, a
    plain DISTINCT (with Core's deprecation warning) elsewhere."""
    with pytest.warns(DeprecationWarning):
        q = session.query(Pet).distinct(Pet.kind).order_by(Pet.kind, Pet.id.desc())
        rows = [(p.kind, p.id) for p in q]
    if engine.dialect.name != "postgresql":
        assert "SELECT DISTINCT pets" in sql_log.statements[-1].replace("`", "")
        assert len(rows) == 4
        return
    assert rows == [("cat", 2), ("dog", 3), ("eel", 4)]
    from sqlalchemy.dialects.postgresql import distinct_on

    q2 = session.query(Pet).ext(distinct_on(Pet.kind)).order_by(Pet.kind, Pet.id)
    assert [(p.kind, p.id) for p in q2] == [("cat", 1), ("dog", 3), ("eel", 4)]


@pytest.fixture
def Owner(Base, engine, make_session):
    class Owner(Base):
        __tablename__ = "owners"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        toys = relationship("Toy", order_by="Toy.id")
        eager_toys = relationship("Toy", order_by="Toy.id", lazy="joined", viewonly=True)

    class Toy(Base):
        __tablename__ = "toys"
        id = Column(Integer, primary_key=True)
        owner_id = Column(ForeignKey("owners.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Owner(id=1, name="ed", toys=[Toy(id=1), Toy(id=2)]),
               Owner(id=2, name="fred", toys=[Toy(id=3)]), Owner(id=3, name="al")])
    s.commit()
    s.close()
    return Owner


def test_joinedload_on_a_union_joins_from_the_union(Owner, session, sql_log):
    ed = session.query(Owner).filter(Owner.name == "ed")
    fred = session.query(Owner).filter(Owner.name == "fred")
    owners = ed.union(fred).order_by(Owner.name).options(joinedload(Owner.toys)).all()
    n = sql_log.count
    assert [(o.name, [t.id for t in o.toys]) for o in owners] == [("ed", [1, 2]),
                                                                  ("fred", [3])]
    assert sql_log.count == n  # loaded by the one SELECT


def test_configured_joined_load_of_an_entity_aliased_to_a_subquery(Owner, session):
    sub = sqlalchemy.select(Owner).where(Owner.id < 3).subquery()
    alias = aliased(Owner, sub)
    owners = session.query(alias).order_by(alias.id).all()
    assert [(o.name, [t.id for t in o.eager_toys]) for o in owners] == [("ed", [1, 2]),
                                                                        ("fred", [3])]


def test_distinct_limit_joinedload_ordered_by_another_entity(Owner, session, sql_log):
    """DISTINCT + LIMIT + a joined collection: the limited SELECT becomes a subquery;
    the column of another entity it is ordered by is selected in it (the outer ORDER BY
    reads it from there)."""
    Toy = Owner.toys.property.mapper.class_
    q = (session.query(Owner).join(Owner.toys).distinct()
         .options(joinedload(Owner.toys)).order_by(sqlalchemy.desc(Toy.id)).limit(2))
    owners = q.all()
    n = sql_log.count
    assert [(o.name, [t.id for t in o.toys]) for o in owners] == [("fred", [3]),
                                                                  ("ed", [1, 2])]
    assert sql_log.count == n
