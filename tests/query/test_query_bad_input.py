"""Names in identifier positions are resolved against the mapper; the rest
are rejected with a named error before any SQL is sent."""

import pytest
from sqlalchemy import distinct as sa_distinct
from sqlalchemy import exc as sa_exc

from datamapper import exc, select


@pytest.mark.parametrize(
    "kw",
    [
        {"bogus": 1},
        {"__class__": 1},
        {"__dict__": 1},
        {"__tablename__": "users"},
        {"metadata": 1},
        {"_sa_instance_state": 1},
        {"name; DROP TABLE users": 1},
    ],
    ids=["bogus", "__class__", "__dict__", "__tablename__", "metadata", "state", "injection"],
)
def test_filter_by_unknown_name_raises_before_sql(users, User, sql_log, read_rows, kw):
    sql_log.clear()
    with pytest.raises(exc.InvalidRequestError) as err:
        users.query(User).filter_by(**kw).all()
    assert sql_log.matching("SELECT") == []
    assert list(kw)[0] in str(err.value)
    assert len(read_rows(User.__table__)) == 2


def test_filter_by_unknown_name_in_orm_select_raises(users, User, sql_log):
    sql_log.clear()
    with pytest.raises(exc.InvalidRequestError):
        users.scalars(select(User).filter_by(__class__=1)).all()
    assert sql_log.matching("SELECT") == []


@pytest.mark.parametrize("where", ["id in (:id1, :id2)", "name = 'ed'"])
def test_filter_by_a_plain_string_is_an_argument_error_naming_text(users, User, sql_log, where):
    # SQLAlchemy raises ArgumentError for a bare string criterion; code that catches
    # that class must catch ours too, and the message must point at text().
    sql_log.clear()
    with pytest.raises(sa_exc.ArgumentError, match=r"text\(\)"):
        users.query(User).filter(where)
    with pytest.raises(sa_exc.ArgumentError):
        select(User).where(where)
    assert sql_log.matching("SELECT") == []


@pytest.mark.parametrize(
    "name",
    ["bogus", "name; DROP TABLE users", "name desc, (select 1)", "__class__"],
)
def test_order_by_string_that_is_not_mapped_raises(users, User, sql_log, read_rows, name):
    sql_log.clear()
    with pytest.raises((exc.InvalidRequestError, exc.ArgumentError, sa_exc.CompileError)):
        users.query(User).order_by(name).all()
    assert sql_log.matching("SELECT") == []
    assert len(read_rows(User.__table__)) == 2


def test_query_of_unmapped_class_raises(users):
    class Plain:
        pass

    with pytest.raises((exc.UnmappedClassError, exc.ArgumentError, exc.InvalidRequestError)):
        users.query(Plain).all()


def test_query_get_with_wrong_number_of_key_values_raises(users, User):
    with pytest.raises(exc.InvalidRequestError):
        users.query(User).get((1, 2))


def test_filter_values_are_bound_parameters(users, User, sql_log):
    evil = "ed' OR '1'='1"
    sql_log.clear()
    assert users.query(User).filter_by(name=evil).all() == []
    assert users.query(User).filter(User.name == evil).all() == []
    assert all(evil not in st for st in sql_log.statements)


def test_filter_by_column_name_instead_of_attribute_name_raises(
    Base, engine, make_session, sql_log
):
    from sqlalchemy import Column, Integer, String

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column("person_name", String(50))

    Base.metadata.create_all(engine)
    s = make_session()
    sql_log.clear()
    with pytest.raises(exc.InvalidRequestError) as err:
        s.query(Person).filter_by(person_name="ed").all()
    assert "person_name" in str(err.value)
    assert "Person" in str(err.value)
    assert sql_log.matching("SELECT") == []


@pytest.mark.parametrize("name", ["bogus", "name; DROP TABLE users"])
def test_order_by_unknown_name_with_assertions_off_is_refused_by_the_compiler(
    users, User, sql_log, read_rows, name
):
    # enable_assertions(False) skips the check when the query is built: the name goes
    # to Core as a label reference, which refuses it when compiled, never as raw SQL
    q = users.query(User).enable_assertions(False).order_by(name)
    sql_log.clear()
    with pytest.raises(sa_exc.CompileError, match="label reference"):
        q.all()
    assert sql_log.matching("SELECT") == []
    assert len(read_rows(User.__table__)) == 2


def test_order_by_label_name_with_assertions_off(users, User):
    q = users.query(User.id, User.name.label("nm")).enable_assertions(False)
    assert [tuple(r) for r in q.order_by("nm")] == [(1, "ed"), (2, "wendy")]


def test_mapped_object_is_not_a_sql_literal(users, User, sql_log):
    # a mapped instance where Core expects a value is refused when the expression
    # is built, instead of being sent to the driver as a parameter
    ed = users.get(User, 1)
    sql_log.clear()
    with pytest.raises(sa_exc.ArgumentError, match="SQL expression element expected"):
        sa_distinct(ed)
    with pytest.raises(sa_exc.ArgumentError, match="literal value expected, got <.*User"):
        users.query(User).filter(User.name == ed)
    assert sql_log.statements == []


def _stars():
    from sqlalchemy import literal_column, text
    return {"plain": "*", "text": text("*"), "literal_column": literal_column("*")}


@pytest.mark.parametrize("star", ["plain", "text", "literal_column"])
@pytest.mark.parametrize("shape", ["star-entity", "entity-star", "star-column",
                                   "column-star", "star-star"])
def test_star_next_to_other_expressions_is_refused_before_sql(users, User, sql_log, read_rows,
                                                               star, shape):
    """``select("*", User)`` read User's attributes from the wrong result columns (an
    object with ``id='ed'``): '*' in an ORM statement may only stand alone."""
    import sqlalchemy as sa
    s = _stars()[star]
    args = {"star-entity": (s, User), "entity-star": (User, s), "star-column": (s, User.id),
            "column-star": (User.id, s), "star-star": (s, s)}[shape]
    sql_log.clear()
    for sel in (sa.select, select):
        # refused when built (datamapper's select) or run (Core's)
        with pytest.raises(sa_exc.CompileError, match=r"at the same time as '\*'"):
            users.execute(sel(*args).select_from(User))
    assert sql_log.matching("SELECT") == []
    # a lone '*' is a plain query
    rows = users.execute(sa.select(s).select_from(User).order_by(User.id)).all()
    assert [tuple(r) for r in rows] == read_rows("SELECT * FROM users ORDER BY id")
    assert [r[:2] for r in rows] == [(1, "ed"), (2, "wendy")]


@pytest.mark.parametrize("verb", ["insert", "update", "delete"])
def test_star_in_orm_dml_returning_next_to_an_entity_is_refused(users, User, sql_log,
                                                                 read_rows, verb):
    import sqlalchemy as sa
    stmt = {"insert": sa.insert(User).values(id=3, name="jack"),
            "update": sa.update(User).values(name="x"),
            "delete": sa.delete(User)}[verb].returning(sa.literal_column("*"), User)
    sql_log.clear()
    with pytest.raises(sa_exc.CompileError, match=r"at the same time as '\*'"):
        users.execute(stmt)
    assert sql_log.count == 0 or sql_log.matching(verb.upper()) == []
    users.rollback()
    assert [r[:2] for r in read_rows("SELECT * FROM users ORDER BY id")] == [(1, "ed"),
                                                                             (2, "wendy")]
