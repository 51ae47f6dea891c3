"""Loader options on ORM INSERT/UPDATE ... RETURNING(Class): load_only() returns
and loads only the named columns, selectinload()/immediateload() (given, or
configured on the relationship) load the related objects of the returned ones, as
they do for a SELECT; joinedload()/subqueryload() of the returned class itself
can't join a DML statement and leave the relationship to load on access."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, insert, update

from datamapper import (
    immediateload,
    joinedload,
    load_only,
    relationship,
    selectinload,
    subqueryload,
)


@pytest.fixture
def models(Base, engine, make_session, backend_name):
    if backend_name == "mysql":
        pytest.skip("no INSERT/UPDATE ... RETURNING on MySQL")

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        cs = relationship("C")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("a.id"))
        x = Column(Integer)
        y = Column(Integer)
        name = Column(String(20))
        a = relationship("A")

    class C(Base):
        __tablename__ = "c"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("a.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([A(id=1, cs=[C(id=1), C(id=2)]), A(id=2)])
    s.commit()
    s.close()
    return A, B, C


ROWS = [{"id": 1, "a_id": 1, "x": 1, "y": 2, "name": "n1"},
        {"id": 2, "a_id": 2, "x": 3, "y": 4, "name": "n2"}]


def test_insert_returning_load_only(models, session, sql_log):
    _A, B, _C = models
    objs = session.scalars(insert(B).returning(B).options(load_only(B.x)), ROWS).all()
    assert [o.__dict__.get("x") for o in objs] == [1, 3]
    assert all("y" not in o.__dict__ and "name" not in o.__dict__ for o in objs)
    ins = [s for s in sql_log.statements if s.startswith("INSERT")]
    assert ins and all("name" not in s.split("RETURNING")[1] for s in ins)
    assert [o.y for o in objs] == [2, 4]  # the rest loads on access


@pytest.mark.parametrize("opt", [selectinload, immediateload])
def test_insert_returning_eager_loads_relationships(models, session, opt):
    A, B, _C = models
    objs = session.scalars(insert(B).returning(B).options(opt(B.a).selectinload(A.cs)),
                           ROWS).all()
    assert all("a" in o.__dict__ for o in objs)
    assert [o.a.id for o in objs] == [1, 2]
    assert "cs" in objs[0].a.__dict__ and sorted(c.id for c in objs[0].a.cs) == [1, 2]


@pytest.mark.parametrize("opt", [joinedload, subqueryload])
def test_insert_returning_joined_options_load_on_access(models, session, opt):
    _A, B, _C = models
    objs = session.scalars(insert(B).returning(B).options(opt(B.a)), ROWS).all()
    assert [o.a.id for o in objs] == [1, 2]


def test_update_returning_load_only_and_selectinload(models, session):
    _A, B, _C = models
    session.execute(insert(B), ROWS)
    session.commit()
    objs = session.scalars(
        update(B).where(B.id == 2).values(x=30).returning(B)
        .options(load_only(B.x), selectinload(B.a))).all()
    assert [(o.id, o.__dict__.get("x")) for o in objs] == [(2, 30)]
    assert "a" in objs[0].__dict__ and objs[0].a.id == 2


@pytest.mark.parametrize("many", [True, False])
def test_returning_class_with_correlated_column_property(Base, engine, session, backend_name,
                                                         many):
    """A column_property() that is a SQL expression (here a subquery correlated to the
    row) isn't part of the INSERT/UPDATE's RETURNING: it loads on access."""
    if backend_name == "mysql":
        pytest.skip("no INSERT/UPDATE ... RETURNING on MySQL")
    from sqlalchemy import func, select

    from datamapper import aliased, column_property

    class U(Base):
        __tablename__ = "u"
        id = Column(Integer, primary_key=True, autoincrement=False)
        age = Column(Integer)

    other = aliased(U)
    U.oldest_other = column_property(
        select(func.max(other.age)).where(other.id != U.id).scalar_subquery())
    Base.metadata.create_all(engine)
    rows = [{"id": 1, "age": 25}, {"id": 2, "age": 47}, {"id": 3, "age": 29}]
    objs = session.scalars(insert(U).returning(U), rows if many else rows[:1]).all()
    assert [(o.id, o.age) for o in objs] == [(1, 25), (2, 47), (3, 29)][:len(objs)]
    if many:
        assert [o.oldest_other for o in objs] == [47, 29, 47]
    got = session.scalars(update(U).where(U.id == 1).values(age=50).returning(U)).all()
    assert [(o.id, o.age) for o in got] == [(1, 50)]
    if many:
        session.expire(got[0], ["oldest_other"])
        assert got[0].oldest_other == 47


@pytest.mark.parametrize("verb", ["insert", "update"])
def test_statement_execution_options_reach_the_selectinload(models, session, verb):
    """execution_options() given to the DML statement itself (not only to execute())
    are seen by the SELECT of its selectinload(), as they are after a select()."""
    import datamapper

    _A, B, _C = models
    seen = []

    @datamapper.event.listens_for(session, "do_orm_execute")
    def record(state):
        if state.is_select:
            seen.append((state.is_relationship_load, state.execution_options.get("tag")))

    if verb == "insert":
        stmt = insert(B).returning(B).options(selectinload(B.a))
        objs = session.scalars(stmt.execution_options(tag="stmt"), ROWS).all()
    else:
        session.execute(insert(B), ROWS)
        stmt = update(B).where(B.id == 1).values(x=9).returning(B).options(
            selectinload(B.a))
        objs = session.scalars(stmt.execution_options(tag="stmt")).all()
    assert all("a" in o.__dict__ for o in objs)
    assert seen == [(True, "stmt")]
