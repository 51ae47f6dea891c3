"""persistence.records without a database: which rows and parameters a flush
writes for given object states, grouped by statement shape."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, func

import datamapper.persistence.records as records
from datamapper import (
    configure_mappers,
    declarative_base,
    exc,
    inspect,
    make_transient_to_detached,
)
from datamapper.persistence.records import (
    PK_PREFIX,
    VERSION_PARAM,
    by_shape,
    changed_params,
    delete_records,
    group_rank,
    insert_records,
    post_update_records,
    switch_record,
    table_plan,
    update_records,
)


@pytest.fixture
def models():
    Base = declarative_base(metadata=MetaData())

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        value = Column(Integer, default=7)
        note = Column(String(20))

    class Versioned(Base):
        __tablename__ = "versioned"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}

    class ServerVersioned(Base):
        __tablename__ = "server_versioned"
        id = Column(Integer, primary_key=True)
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    class Pair(Base):
        __tablename__ = "pairs"
        a = Column(Integer, primary_key=True)
        b = Column(Integer, primary_key=True)
        name = Column(String(50))

    configure_mappers()
    return Item, Versioned, ServerVersioned, Pair


def persistent(obj):
    """``obj`` as if loaded: it has an identity key and no pending changes."""
    make_transient_to_detached(obj)
    return inspect(obj)


def plan_of(cls):
    return table_plan(inspect(cls))


def rows(groups):
    return {shape: [(p, e) for _s, p, e in recs] for shape, recs in groups.items()}


# -- INSERT ---------------------------------------------------------------------------
def test_insert_records_group_rows_by_the_columns_they_write(models):
    Item = models[0]
    a, b, c = Item(name="a", value=1, note="x"), Item(name="b"), Item(name="c", value=2, note="y")
    groups, server_versions = insert_records(
        inspect(Item), plan_of(Item), [inspect(o) for o in (a, b, c)], None)
    assert rows(groups) == {
        (("name", "value", "note"), None): [({"name": "a", "value": 1, "note": "x"}, None),
                                            ({"name": "c", "value": 2, "note": "y"}, None)],
        # value has a default: left out so that it applies; note has none: NULL is sent
        (("name", "note"), None): [({"name": "b", "note": None}, None)],
    }
    assert server_versions is None
    assert [[st.obj() for st, _p, _e in recs] for recs in groups.values()] == [[a, c], [b]]


def test_insert_records_leave_out_the_generated_key_and_none_where_a_default_applies(models):
    Item = models[0]
    obj = Item(id=None, name="a", value=None, note="n")
    groups, _sv = insert_records(inspect(Item), plan_of(Item), [inspect(obj)], None)
    assert rows(groups) == {(("name", "note"), None): [({"name": "a", "note": "n"}, None)]}


def test_insert_records_keep_an_explicit_key(models):
    Item = models[0]
    obj = Item(id=10, name="a", value=1, note="n")
    groups, _sv = insert_records(inspect(Item), plan_of(Item), [inspect(obj)], None)
    assert rows(groups) == {(("id", "name", "value", "note"), None):
                            [({"id": 10, "name": "a", "value": 1, "note": "n"}, None)]}


def test_insert_records_put_sql_expressions_apart_from_values(models):
    Item = models[0]
    expr = func.upper("c")
    obj = Item(name=expr, value=2, note="y")
    groups, _sv = insert_records(inspect(Item), plan_of(Item), [inspect(obj)], None)
    assert rows(groups) == {(("value", "note"), ("name",)): [({"value": 2, "note": "y"},
                                                               {"name": expr})]}


def test_insert_records_give_a_versioned_row_its_first_version(models):
    Versioned = models[1]
    obj = Versioned(name="a")
    groups, server_versions = insert_records(
        inspect(Versioned), plan_of(Versioned), [inspect(obj)], None)
    assert obj.version == 1  # the default generator's first value, in the object
    assert rows(groups) == {(("name", "version"), None): [({"name": "a", "version": 1}, None)]}
    assert server_versions is None


def test_insert_records_list_rows_whose_version_the_database_sets(models):
    ServerVersioned = models[2]
    obj = ServerVersioned()
    st = inspect(obj)
    _groups, server_versions = insert_records(
        inspect(ServerVersioned), plan_of(ServerVersioned), [st], None)
    assert server_versions == [st]
    assert "version" not in obj.__dict__


def test_insert_records_refuse_a_zero_key_the_server_would_replace(models):
    Item = models[0]
    obj = Item(id=0, name="a")
    with pytest.raises(exc.FlushError, match=r"Can't INSERT .*id=0.*NO_AUTO_VALUE_ON_ZERO"):
        insert_records(inspect(Item), plan_of(Item), [inspect(obj)], "id")
    # without the guard (other databases) a 0 is a key like any other
    groups, _sv = insert_records(inspect(Item), plan_of(Item), [inspect(obj)], None)
    assert list(groups) == [(("id", "name", "note"), None)]


def test_group_rank_orders_groups_by_shape_not_by_arrival(models):
    Item = models[0]
    objs = [Item(name="a", value=1, note="x"), Item(name="b"), Item(id=3, name="c")]
    groups, _sv = insert_records(inspect(Item), plan_of(Item), [inspect(o) for o in objs], None)
    assert [shape for shape, _r in sorted(groups.items(), key=group_rank)] == [
        (("name", "note"), None),
        (("id", "name", "note"), None),
        (("name", "value", "note"), None),
    ]


# -- UPDATE ---------------------------------------------------------------------------
def test_changed_params_of_an_unchanged_object_is_none(models):
    Item = models[0]
    st = persistent(Item(id=5, name="d", value=1, note="n"))
    assert changed_params(st.mapper, st, plan_of(Item)) is None


def test_changed_params_hold_only_changed_columns_and_the_row_key(models):
    Item = models[0]
    obj = Item(id=5, name="d", value=1, note="n")
    st = persistent(obj)
    obj.note = "m"
    obj.name = "e"
    assert changed_params(st.mapper, st, plan_of(Item)) == (
        {"name": "e", "note": "m"}, None, {PK_PREFIX + "id": 5})


def test_a_value_set_back_to_the_original_is_no_change(models):
    Item = models[0]
    obj = Item(id=5, name="d", value=1, note="n")
    st = persistent(obj)
    obj.name = "e"
    obj.name = "d"
    assert changed_params(st.mapper, st, plan_of(Item)) is None


def test_a_changed_key_is_found_by_its_old_value(models):
    Item = models[0]
    obj = Item(id=5, name="d", value=1, note="n")
    st = persistent(obj)
    obj.id = 6
    assert changed_params(st.mapper, st, plan_of(Item)) == (
        {"id": 6}, None, {PK_PREFIX + "id": 5})


def test_update_records_and_by_shape(models):
    Item = models[0]
    objs = [Item(id=i, name="n", value=i, note="x") for i in range(1, 5)]
    states = [persistent(o) for o in objs]
    objs[0].name = "a"
    objs[1].value = 20
    objs[2].name = "c"
    recs = update_records(inspect(Item), plan_of(Item), states)
    assert [(s.obj(), p, e) for s, p, e in recs] == [
        (objs[0], {"name": "a", PK_PREFIX + "id": 1}, None),
        (objs[1], {"value": 20, PK_PREFIX + "id": 2}, None),
        (objs[2], {"name": "c", PK_PREFIX + "id": 3}, None),
    ]
    groups = by_shape(recs)
    assert [(shape, [s.obj() for s, _p, _e in rs]) for shape, rs in groups.items()] == [
        ((("name", PK_PREFIX + "id"), None), [objs[0], objs[2]]),
        ((("value", PK_PREFIX + "id"), None), [objs[1]]),
    ]


def test_switch_record_writes_the_new_object_over_the_old_row(models):
    Versioned = models[1]
    obj = Versioned(name="new")
    params, exprs, unset = switch_record(inspect(Versioned), plan_of(Versioned),
                                         inspect(obj), (3,), 4)
    assert params == {"name": "new", "version": 5, VERSION_PARAM: 4, PK_PREFIX + "id": 3}
    assert exprs == {} and unset == set()
    assert obj.version == 5


def test_switch_record_of_an_empty_object_still_looks_for_the_row(models):
    Item = models[0]
    obj = Item()
    params, exprs, unset = switch_record(inspect(Item), plan_of(Item), inspect(obj), (3,), None)
    assert params == {"id": 3, PK_PREFIX + "id": 3}
    assert exprs == {}
    assert unset == {"name", "value", "note"}  # the row's values stay: expired


def test_post_update_records_write_only_the_given_values(models):
    Item = models[0]
    obj = Item(id=8, name="a")
    assert post_update_records(plan_of(Item), [(inspect(obj), {"value": 3})]) == [
        (inspect(obj), {"value": 3, PK_PREFIX + "id": 8})]


# -- DELETE ---------------------------------------------------------------------------
def test_delete_records_use_the_identity_key(models):
    Item, _v, _sv, Pair = models
    objs = [Item(id=i) for i in (1, 2)]
    states = [persistent(o) for o in objs]
    objs[0].id = 99  # the row is still the one with the key it was loaded with
    assert delete_records(plan_of(Item), states) == [{PK_PREFIX + "id": 1},
                                                     {PK_PREFIX + "id": 2}]
    pair = Pair(a=1, b=2)
    assert delete_records(plan_of(Pair), [persistent(pair)]) == [
        {PK_PREFIX + "a": 1, PK_PREFIX + "b": 2}]


def test_delete_records_of_a_partly_null_key_name_the_column(models):
    Pair = models[3]
    pair = Pair(a=1, b=None)
    st = inspect(pair)
    st.key = (Pair, (1, None), None)
    with pytest.raises(exc.FlushError, match=r"Can't DELETE .* primary key column pairs.b is NULL"):
        delete_records(plan_of(Pair), [st])


# -- structure --------------------------------------------------------------------------
def test_records_run_no_sql():
    """The module is pure: it is never given a Connection and executes nothing."""
    tree = ast.parse(Path(records.__file__).read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert "Connection" not in names
    assert not {"execute", "exec_driver_sql", "scalar", "scalars"} & attrs
