"""Bundle: several columns selected as one named-tuple value of each result row, in
Query and in select(); a subclass builds its own value; single_entity=True makes a
Query of the bundle alone return the values.  Checked against the rows stored."""

import pytest
from sqlalchemy import Column, Integer, String, func
from sqlalchemy.exc import ArgumentError

from datamapper import Bundle, DictBundle, select


@pytest.fixture
def Person(Base, engine, make_session):
    class Person(Base):
        __tablename__ = "bn_people"
        id = Column(Integer, primary_key=True)
        first = Column(String(20))
        last = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Person(id=1, first="ada", last="lovelace"), Person(id=2, first="alan",
                                                                 last="turing")])
    s.commit()
    s.close()
    return Person


def test_query_rows_hold_the_bundle_as_a_named_tuple(Person, session, sql_log):
    name = Bundle("name", Person.first, Person.last)
    rows = session.query(name, Person.id).order_by(Person.id).all()
    assert [(r.name.first, r.name.last, r.id) for r in rows] == [
        ("ada", "lovelace", 1), ("alan", "turing", 2)]
    assert len(sql_log.matching("SELECT")) == 1


def test_select_with_bundle_and_its_columns(Person, session):
    name = Bundle("name", Person.first, Person.last)
    rows = session.execute(select(name).where(name.c.first == "alan")).all()
    assert [tuple(r.name) for r in rows] == [("alan", "turing")]
    assert name.c.keys() == ["first", "last"]


def test_subclass_builds_its_own_value_and_single_entity(Person, session):
    class AsDict(Bundle):
        def create_row_processor(self, query, procs, labels):
            def proc(row):
                return dict(zip(labels, (p(row) for p in procs), strict=True))
            return proc

    b = AsDict("p", Person.id, func.upper(Person.last).label("upper"), single_entity=True)
    assert session.query(b).order_by(Person.id).all() == [
        {"id": 1, "upper": "LOVELACE"}, {"id": 2, "upper": "TURING"}]


def test_column_descriptions_and_label(Person, session):
    b = Bundle("b1", Person.id, Person.first)
    (d,) = session.query(b.label("b2")).column_descriptions
    assert (d["name"], d["type"], d["entity"]) == ("b2", Bundle, Person)


def test_bundle_of_a_class_is_refused(Person):
    with pytest.raises(ArgumentError, match="holds column expressions"):
        Bundle("x", Person)
    with pytest.raises(ArgumentError, match="of no columns"):
        Bundle("x")


def test_get_bind_gets_the_mapper_of_column_expressions(Person, engine):
    from datamapper import Session

    seen = []

    class Recording(Session):
        def get_bind(self, mapper=None, clause=None, **kw):
            seen.append(mapper)
            return super().get_bind(mapper=mapper, clause=clause, **kw)

    with Recording(engine) as s:
        assert s.query(func.max(Person.first)).scalar() == "alan"
        subq = s.query(Person.id, Person.last).subquery()
        assert sorted(s.query(subq.c.last).all()) == [("lovelace",), ("turing",)]
        assert s.query(s.query(Person.id).exists()).scalar() is True
        s.query(Bundle("b", Person.id)).all()
    assert seen and all(m is not None and m.class_ is Person for m in seen)


def test_get_bind_gets_no_mapper_for_a_plain_table(Person, engine):
    from datamapper import Session

    seen = []

    class Recording(Session):
        def get_bind(self, mapper=None, clause=None, **kw):
            seen.append(mapper)
            return super().get_bind(mapper=mapper, clause=clause, **kw)

    with Recording(engine) as s:
        assert len(s.query(Person.__table__).all()) == 2
        assert s.query(Person.__table__).count() == 2
    assert seen == [None, None]


def test_nested_bundles_give_nested_values(Person, session, sql_log):
    import sqlalchemy

    inner = Bundle("name", Person.first, Person.last)
    outer = Bundle("person", Person.id, inner)
    assert outer.c.name is inner and outer.c.name.c.first is not None
    for stmt in (session.query(outer).filter(outer.c.name.c.first == "alan"),
                 sqlalchemy.select(outer).where(outer.c.name.c.first == "alan")):
        rows = stmt.all() if hasattr(stmt, "all") else session.execute(stmt).all()
        (row,) = rows
        value = row[0]
        assert value.id == 2 and value.name.first == "alan" and value.name.last == "turing"
        assert tuple(value) == (2, ("alan", "turing"))


def test_union_of_bundle_queries_reads_the_bundles_back(Person, session):
    b = Bundle("b", Person.id, Bundle("name", Person.first, Person.last))
    q1 = session.query(b).filter(Person.id == 1)
    q2 = session.query(b).filter(Person.id == 2)
    rows = q1.union(q2).order_by(b.c.id).all()
    assert [tuple(r[0]) for r in rows] == [(1, ("ada", "lovelace")), (2, ("alan", "turing"))]


def test_dict_bundle_values_are_dicts_nested_included(Person, session, sql_log):
    inner = DictBundle("inner", Person.last)
    outer = DictBundle("who", Person.first, inner)
    sql_log.clear()
    rows = session.execute(select(Person.id, outer).order_by(Person.id)).all()
    assert sql_log.count == 1
    assert [(r.id, r.who) for r in rows] == [
        (1, {"first": "ada", "inner": {"last": "lovelace"}}),
        (2, {"first": "alan", "inner": {"last": "turing"}})]
    legacy = session.query(outer).order_by(Person.id).all()
    assert [r.who for r in legacy] == [r.who for r in rows]
    assert session.scalars(select(DictBundle("d", Person.id)).order_by(Person.id)).first() == \
        {"id": 1}


def test_dict_bundle_refuses_two_columns_of_one_name(Person):
    with pytest.raises(ArgumentError, match="duplicate column names.*'id'.*label"):
        DictBundle("pk", Person.id, Person.id.label("id"))
