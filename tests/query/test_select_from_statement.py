"""select(Entity).from_statement(stmt): entities loaded from a statement written out
(text(), a select(), a union, or DML with RETURNING), with ``sqlalchemy.select`` and
``datamapper.select`` alike; loader options apply; columns the statement lacks stay unloaded."""

import pytest
import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, String, literal, text, union_all
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchColumnError

import datamapper
from datamapper import joinedload, query_expression, relationship, selectinload, with_expression


@pytest.fixture
def M(Base, engine, make_session):
    class Owner(Base):
        __tablename__ = "fs_owner"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        rank = query_expression()
        pets = relationship("Pet", order_by="Pet.id")

    class Pet(Base):
        __tablename__ = "fs_pet"
        id = Column(Integer, primary_key=True)
        owner_id = Column(ForeignKey("fs_owner.id"))
        kind = Column(String(30))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Owner(id=1, name="ann", pets=[Pet(id=1, kind="cat"), Pet(id=2, kind="dog")]),
               Owner(id=2, name="bob", pets=[Pet(id=3, kind="eel")])])
    s.commit()
    s.close()
    return Owner, Pet


@pytest.mark.parametrize("select", [sqlalchemy.select, datamapper.select])
def test_from_text_loads_objects_through_the_identity_map(M, session, sql_log, select):
    Owner, _Pet = M
    stmt = select(Owner).from_statement(
        text("SELECT id, name FROM fs_owner WHERE name = :n ORDER BY id"))
    (ann,) = session.scalars(stmt, {"n": "ann"}).all()
    assert (ann.id, ann.name) == (1, "ann")
    assert session.get(Owner, 1) is ann
    assert sql_log.statements[-1].startswith("SELECT id, name FROM fs_owner WHERE name =")


@pytest.mark.parametrize("select", [sqlalchemy.select, datamapper.select])
def test_from_text_with_columns_of_the_mapped_attributes(M, session, select):
    Owner, _Pet = M
    textual = text("SELECT id, name FROM fs_owner ORDER BY id").columns(Owner.id, Owner.name)
    owners = session.scalars(select(Owner).from_statement(textual)).all()
    assert [(o.id, o.name) for o in owners] == [(1, "ann"), (2, "bob")]


@pytest.mark.parametrize("select", [sqlalchemy.select, datamapper.select])
def test_from_select_and_union_with_expression(M, session, select):
    Owner, _Pet = M
    t = Owner.__table__
    u = union_all(sqlalchemy.select(t, literal(10).label("r")).where(t.c.id == 1),
                  sqlalchemy.select(t, literal(20).label("r")).where(t.c.id == 2))
    stmt = select(Owner).options(with_expression(Owner.rank, u.selected_columns.r)) \
        .from_statement(u)
    objs = sorted(session.scalars(stmt), key=lambda o: o.id)
    assert [(o.name, o.rank) for o in objs] == [("ann", 10), ("bob", 20)]


def test_columns_the_statement_lacks_load_on_access(M, session, sql_log):
    Owner, _Pet = M
    ann = session.scalars(sqlalchemy.select(Owner).from_statement(
        sqlalchemy.select(Owner.id).where(Owner.id == 1))).one()
    assert "name" not in ann.__dict__
    sql_log.clear()
    assert ann.name == "ann"
    assert sql_log.count == 1


def test_loader_options_apply_and_joinedload_loads_lazily(M, session, sql_log):
    Owner, _Pet = M
    stmt = sqlalchemy.select(Owner).options(selectinload(Owner.pets)).from_statement(
        text("SELECT id, name FROM fs_owner ORDER BY id"))
    owners = session.scalars(stmt).all()
    assert len(sql_log.matching("SELECT")) == 2
    sql_log.clear()
    assert [[p.kind for p in o.pets] for o in owners] == [["cat", "dog"], ["eel"]]
    assert sql_log.count == 0
    session.expunge_all()
    stmt = sqlalchemy.select(Owner).options(joinedload(Owner.pets)).from_statement(
        text("SELECT id, name FROM fs_owner WHERE id = 2"))
    (bob,) = session.scalars(stmt).all()
    assert "JOIN" not in " ".join(sql_log.statements).upper()
    assert [p.kind for p in bob.pets] == ["eel"]


def test_rows_of_entities_and_connection_execute(M, session, engine):
    Owner, _Pet = M
    stmt = sqlalchemy.select(Owner).from_statement(text("SELECT id, name FROM fs_owner "
                                                        "ORDER BY id"))
    rows = session.execute(stmt).all()
    assert [r[0].name for r in rows] == ["ann", "bob"]
    with engine.connect() as conn:  # no Session: the statement's own rows
        assert [tuple(r) for r in conn.execute(stmt)] == [(1, "ann"), (2, "bob")]
    assert str(stmt) == "SELECT id, name FROM fs_owner ORDER BY id"


def test_query_first_runs_the_statement_as_written(M, session, sql_log):
    Owner, _Pet = M
    first = session.query(Owner).from_statement(
        text("SELECT id, name FROM fs_owner ORDER BY id DESC")).first()
    assert first.name == "bob"
    assert "LIMIT" not in sql_log.statements[-1].upper()


def test_missing_primary_key_and_bad_statement_are_refused(M, session):
    Owner, _Pet = M
    with pytest.raises(InvalidRequestError, match="from_statement"):
        session.scalars(sqlalchemy.select(Owner).from_statement(
            text("SELECT name FROM fs_owner"))).all()
    with pytest.raises(ArgumentError, match="wrap it in text"):
        sqlalchemy.select(Owner).from_statement("SELECT 1")


def test_a_selected_column_the_statement_lacks_is_a_no_such_column_error(M, session):
    Owner, _Pet = M
    with pytest.raises(NoSuchColumnError, match="fs_owner.name"):
        session.query(Owner.id, Owner.name).from_statement(
            sqlalchemy.select(Owner.id)).all()


@pytest.mark.parametrize("kind", ["insert", "update", "delete"])
def test_from_dml_with_returning_loads_the_returned_rows(M, session, engine, read_rows, kind):
    """An INSERT/UPDATE/DELETE with RETURNING as the statement: the returned rows are
    the entities (through the identity map), and do_orm_execute sees a from_statement
    DML statement of that kind."""
    if not getattr(engine.dialect, f"{kind}_returning"):
        pytest.skip(f"{engine.dialect.name} has no {kind.upper()} ... RETURNING")
    Owner, Pet = M
    if kind == "delete":
        session.execute(sqlalchemy.delete(Pet).where(Pet.owner_id == 2))
    seen = []

    @datamapper.event.listens_for(session, "do_orm_execute")
    def flags(ctx):
        seen.append((ctx.is_select, ctx.is_from_statement, ctx.is_insert, ctx.is_update,
                     ctx.is_delete, ctx.bind_mapper))

    bob = session.get(Owner, 2)
    del seen[:]
    if kind == "insert":
        dml = sqlalchemy.insert(Owner).values(id=3, name="cy")
    elif kind == "update":
        dml = sqlalchemy.update(Owner).where(Owner.id == 2).values(name="rob")
    else:
        dml = sqlalchemy.delete(Owner).where(Owner.id == 2)
    stmt = sqlalchemy.select(Owner).from_statement(dml.returning(Owner)) \
        .execution_options(populate_existing=True)
    (obj,) = session.scalars(stmt).all()
    assert seen == [(False, True, kind == "insert", kind == "update", kind == "delete",
                     Owner.__mapper__)]
    session.commit()
    names = [r[1] for r in read_rows(Owner.__table__)]
    if kind == "insert":
        assert (obj.id, obj.name) == (3, "cy") and names == ["ann", "bob", "cy"]
    elif kind == "update":
        assert obj is bob and names == ["ann", "rob"]
    else:
        assert obj is bob and names == ["ann"]


def test_from_dml_without_returning_is_refused(M):
    Owner, _Pet = M
    with pytest.raises(ArgumentError, match=r"returns no rows; add \.returning"):
        sqlalchemy.select(Owner).from_statement(sqlalchemy.delete(Owner))


@pytest.mark.parametrize("select", [sqlalchemy.select, datamapper.select])
def test_columns_are_matched_by_name_and_by_table_label(M, session, select):
    """A statement given whole holds the entity's columns under their names, under
    ``<table>_<column>`` labels, or as columns written by name (``column("id")``,
    ``text().columns(id=Integer)``): all load the objects, in any column order."""
    Owner, Pet = M
    t_sql = ("SELECT name AS fs_owner_name, 27 AS foo, id AS fs_owner_id FROM fs_owner "
             "ORDER BY id")
    by_name = sqlalchemy.select(sqlalchemy.column("name"), sqlalchemy.column("id")).select_from(
        sqlalchemy.table("fs_owner")).order_by(sqlalchemy.column("id"))
    typed = text("SELECT * FROM fs_owner ORDER BY id").columns(id=Integer, name=String)
    for stmt in (text(t_sql), by_name, typed):
        session.expunge_all()
        owners = session.scalars(select(Owner).from_statement(stmt)).all()
        assert [(o.id, o.name) for o in owners] == [(1, "ann"), (2, "bob")]
    session.expunge_all()
    rows = session.execute(select(Owner, Pet).from_statement(text(
        "SELECT fs_owner.name AS fs_owner_name, fs_owner.id AS fs_owner_id, "
        "fs_pet.id AS fs_pet_id, fs_pet.kind AS fs_pet_kind FROM fs_owner JOIN fs_pet "
        "ON fs_owner.id = fs_pet.owner_id ORDER BY fs_pet.id"))).all()
    assert [(o.id, o.name, p.id, p.kind) for o, p in rows] == [
        (1, "ann", 1, "cat"), (1, "ann", 2, "dog"), (2, "bob", 3, "eel")]
    cols = session.execute(select(Owner.id, Owner.name).from_statement(typed)).all()
    assert [tuple(r) for r in cols] == [(1, "ann"), (2, "bob")]


@pytest.mark.parametrize("select", [sqlalchemy.select, datamapper.select])
def test_contains_eager_reads_the_related_objects_from_the_statement(M, session, sql_log,
                                                                     select):
    """contains_eager() with from_statement(): the collection is filled from the
    statement's rows (it failed with IndexError); columns the statement lacks stay
    unloaded."""
    from datamapper import contains_eager

    Owner, Pet = M
    o, p = Owner.__table__, Pet.__table__
    full = sqlalchemy.select(o, p).select_from(o.outerjoin(p)).order_by(o.c.id, p.c.id)
    labelled = text("SELECT fs_owner.id AS fs_owner_id, fs_owner.name AS fs_owner_name, "
                    "fs_pet.id AS fs_pet_id FROM fs_owner JOIN fs_pet "
                    "ON fs_owner.id = fs_pet.owner_id ORDER BY fs_pet.id")
    for stmt in (full, labelled):
        session.expunge_all()
        sql_log.clear()
        owners = session.scalars(select(Owner).from_statement(stmt)
                                 .options(contains_eager(Owner.pets))).unique().all()
        assert [(ow.name, [pt.id for pt in ow.pets]) for ow in owners] == [
            ("ann", [1, 2]), ("bob", [3])]
        assert len(sql_log) == 1
        if stmt is labelled:
            assert "kind" not in owners[0].pets[0].__dict__
            assert owners[0].pets[0].kind == "cat"  # loads on access


@pytest.mark.parametrize("kind", ["insert", "update"])
def test_from_dml_values_by_attribute_name_whose_column_is_named_otherwise(
        Base, engine, make_session, read_rows, kind):
    # values(age=...) names the attribute; its column is user_age: the statement given
    # to from_statement() takes the names session.execute() of it alone takes
    if not getattr(engine.dialect, f"{kind}_returning"):
        pytest.skip(f"{engine.dialect.name} has no {kind.upper()} ... RETURNING")

    class Member(Base):
        __tablename__ = "fs_members"
        id = Column(Integer, primary_key=True)
        age = Column("member_age", Integer)
        years = datamapper.synonym("age")

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Member(id=1, age=3))
    s.commit()
    if kind == "insert":
        dml = sqlalchemy.insert(Member).values(id=2, years=9)
    else:
        dml = sqlalchemy.update(Member).where(Member.id == 1).values(age=7)
    (obj,) = s.scalars(sqlalchemy.select(Member).from_statement(dml.returning(Member))
                       .execution_options(populate_existing=True)).all()
    s.commit()
    assert obj.age == (9 if kind == "insert" else 7)
    assert read_rows(Member.__table__) == ([(1, 3), (2, 9)] if kind == "insert" else [(1, 7)])


@pytest.mark.parametrize("select", [sqlalchemy.select, datamapper.select])
@pytest.mark.parametrize("inner", ["text", "select"])
def test_params_of_the_from_statement_override_the_inner_ones(M, session, select, inner,
                                                              recwarn):
    """``select(X).from_statement(stmt).params(...)``: the values go to the statement's
    bound parameters, over those ``stmt.params()`` gave (SQLAlchemy's #13709); was
    SQLAlchemy 2.1's deprecation warning for params() of a non-statement element, the
    values left out."""
    Owner, _Pet = M
    if inner == "text":
        stmt = text("SELECT id, name FROM fs_owner WHERE id = :a OR id = :b")
    else:
        stmt = select(Owner).where(sqlalchemy.or_(
            Owner.id == sqlalchemy.bindparam("a"), Owner.id == sqlalchemy.bindparam("b")))
    base = select(Owner).from_statement(stmt.params(a=1, b=1))
    assert [o.id for o in session.scalars(base)] == [1]
    over = base.params(b=2)
    for _ in range(2):  # (the second time from the compiled cache, if any)
        assert sorted(o.id for o in session.scalars(over)) == [1, 2]
    assert [o.id for o in session.scalars(base)] == [1]  # left as it was
    assert not [w for w in recwarn if "params()" in str(w.message)]
