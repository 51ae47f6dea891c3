"""The ``do_orm_execute`` session event, ORMExecuteState and UserDefinedOption."""

import pytest
from sqlalchemy import bindparam, event, func, insert, update
from sqlalchemy import select as core_select

import datamapper
from datamapper import (
    ORMExecuteState,
    UserDefinedOption,
    select,
    selectinload,
)
from datamapper.exc import InvalidRequestError


def _cursor_options(engine, key):
    seen = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(context.execution_options.get(key))

    event.listen(engine, "before_cursor_execute", listener)
    return seen


def test_execute_fires_with_merged_options_and_updates_reach_the_connection(
        authors_filled, make_session, engine):
    Author, _b, _p = authors_filled
    s = make_session(execution_options={"a": "session", "b": "session"})
    views = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx: ORMExecuteState):
        views.append((dict(ctx.execution_options), ctx.is_select, ctx.is_orm_statement,
                      ctx.bind_mapper is datamapper.class_mapper(Author)))
        ctx.update_execution_options(added="listener")

    seen = _cursor_options(engine, "added")
    stmt = select(Author).where(Author.id == 1).execution_options(b="statement", c="statement")
    got = s.execute(stmt, execution_options={"c": "call"}).scalars().all()
    assert [a.name for a in got] == ["a1"]
    assert views == [({"a": "session", "b": "statement", "c": "call"}, True, True, True)]
    assert seen == ["listener"]


def test_call_execution_options_reach_the_connection_for_orm_selects(
        authors_filled, make_session, engine):
    # (before: an ORM select dropped the execute(execution_options=) of the call)
    Author, _b, _p = authors_filled
    s = make_session()
    seen = _cursor_options(engine, "mine")
    s.execute(select(Author), execution_options={"mine": 1}).scalars().all()
    assert seen == [1]


def test_flush_does_not_fire(authors_filled, make_session):
    Author, _b, _p = authors_filled
    s = make_session()
    calls = []
    datamapper.event.listen(s, "do_orm_execute", calls.append)
    s.add(Author(id=9, name="new"))
    s.flush()
    assert calls == []


def test_listener_result_replaces_execution_and_caches(authors_filled, make_session, sql_log):
    Author, _b, _p = authors_filled
    s = make_session()
    cache = {}

    @datamapper.event.listens_for(s, "do_orm_execute")
    def cached(ctx):
        key = ctx.execution_options.get("cache_key")
        if key is None:
            return None
        if key not in cache:
            cache[key] = ctx.invoke_statement().freeze()
        return cache[key]()

    stmt = select(Author).where(Author.id == 2).execution_options(cache_key="a2")
    first = s.execute(stmt).scalars().all()
    sql_log.clear()
    second = s.execute(stmt).scalars().all()
    assert sql_log.count == 0
    assert [a.name for a in first] == [a.name for a in second] == ["a2"]


def test_invoke_statement_params_override_without_changing_callers(
        authors_filled, make_session, read_rows):
    Author, _b, _p = authors_filled
    s = make_session()

    @datamapper.event.listens_for(s, "do_orm_execute")
    def override(ctx):
        return ctx.invoke_statement(params={"name": "overridden"})

    params = {"id": 20, "name": "original"}
    s.execute(insert(Author), params)
    s.commit()
    assert params == {"id": 20, "name": "original"}
    assert read_rows("SELECT name FROM authors WHERE id = 20") == [("overridden",)]


def test_invoke_statement_parameter_set_count_mismatch_is_refused(authors_filled, make_session,
                                                                 read_rows):
    Author, _b, _p = authors_filled
    s = make_session()
    datamapper.event.listen(
        s, "do_orm_execute",
        lambda ctx: ctx.invoke_statement(params=[{"name": "x"}, {"name": "y"}]))
    with pytest.raises(InvalidRequestError, match="parameter sets"):
        s.execute(insert(Author), [{"id": 30 + i, "name": "n"} for i in range(3)])
    s.rollback()
    assert read_rows("SELECT id FROM authors WHERE id >= 30") == []


def test_chained_listeners_run_once_each_around_invoke_statement(authors_filled, make_session,
                                                                 engine):
    _a, _b, _p = authors_filled
    s = make_session()
    order = []

    def make(name, invoke):
        def fn(ctx):
            order.append(name)
            ctx.update_execution_options(**{name: True})
            if invoke:
                return ctx.invoke_statement()
            return None
        return fn

    for name, invoke in (("one", False), ("two", True), ("three", False)):
        datamapper.event.listen(s, "do_orm_execute", make(name, invoke))
    result = s.execute(core_select(bindparam("x", 1)))
    assert order == ["one", "two", "three"]
    opts = result.context.execution_options
    assert opts["one"] and opts["two"] and opts["three"]


def test_get_fires_only_when_it_selects_and_argument_wins_over_option(authors_filled, make_session):
    Author, _b, _p = authors_filled
    s = make_session()
    a1 = s.get(Author, 1)
    s.connection().execute(update(Author.__table__).values(name="changed"))
    views = []
    datamapper.event.listen(s, "do_orm_execute",
                            lambda ctx: views.append(dict(ctx.execution_options)))
    # in the identity map, populate_existing=False given: no SELECT, even with the option
    assert s.get(Author, 1, populate_existing=False,
                 execution_options={"populate_existing": True}) is a1
    assert a1.name == "a1" and views == []
    assert s.get(Author, 1, execution_options={"populate_existing": True}).name == "changed"
    assert views[-1]["populate_existing"] is True
    s.get(Author, 2)
    assert "populate_existing" not in views[-1]


def test_query_fires_and_its_option_updates_apply(authors_filled, make_session, engine):
    Author, _b, _p = authors_filled
    s = make_session()
    seen = _cursor_options(engine, "from_listener")
    stmts = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        stmts.append((ctx.is_select, dict(ctx.execution_options)))
        ctx.update_execution_options(from_listener="yes")

    got = s.query(Author).execution_options(q="1").order_by(Author.id).all()
    assert [a.id for a in got] == [1, 2]
    assert stmts == [(True, {"q": "1"})]
    assert seen == ["yes"]


def test_autoflush_execution_option_from_listener(authors_filled, make_session, read_rows):
    Author, _b, _p = authors_filled
    s = make_session()
    datamapper.event.listen(s, "do_orm_execute",
                            lambda ctx: ctx.update_execution_options(autoflush=False))
    s.add(Author(id=40, name="pending"))
    assert [a.id for a in s.scalars(select(Author).where(Author.id == 40))] == []
    s.rollback()


def test_relationship_and_column_loads_are_flagged(authors_filled, make_session):
    Author, Book, _p = authors_filled
    s = make_session()
    flags = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        flags.append((ctx.is_relationship_load, ctx.is_column_load,
                      ctx.lazy_loaded_from is not None))

    a1 = s.get(Author, 1)
    a1.books  # lazy load
    s.expire(a1, ["name"])
    a1.name  # column load
    assert flags == [(False, False, False), (True, False, True), (False, True, False)]


def test_user_defined_option_is_seen_by_listeners(authors_filled, make_session):
    Author, _b, _p = authors_filled

    class Tag(UserDefinedOption):
        pass

    s = make_session()
    payloads = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        payloads.extend(o.payload for o in ctx.user_defined_options)

    s.execute(select(Author).options(Tag("orm select"))).scalars().all()
    s.execute(core_select(Author).options(Tag("core select"))).scalars().all()
    s.query(Author).options(Tag("query")).all()
    s.execute(insert(Author).values(id=50, name="x").options(Tag("insert")))
    assert payloads == ["orm select", "core select", "query", "insert"]
    s.rollback()


def test_load_options_nests_loaders_below_a_relationship(authors_filled, make_session, sql_log):
    Author, Book, Page = authors_filled
    s = make_session()
    stmt = core_select(Author).order_by(Author.id).options(
        selectinload(Author.books).options(selectinload(Book.pages)))
    authors = s.scalars(stmt).all()
    assert sql_log.count == 3
    sql_log.clear()
    assert [[(b.title, [p.text for p in b.pages]) for b in a.books] for a in authors] == [
        [("b1", ["p1"]), ("b2", [])], [("b3", [])]]
    assert sql_log.count == 0


def test_load_options_refuses_non_loader_options(authors_filled):
    Author, _b, _p = authors_filled
    with pytest.raises(datamapper.exc.ArgumentError, match="Load.options"):
        selectinload(Author.books).options("pages")



@pytest.mark.parametrize("how", ["lazy", "lazy_with_options", "selectin", "query"])
def test_propagating_user_option_reaches_relationship_loads(authors_filled, make_session, how):
    Author, Book, _p = authors_filled

    class Shard(UserDefinedOption):
        propagate_to_loaders = True

    class Local(UserDefinedOption):
        pass

    s = make_session()
    seen = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        seen.append((ctx.is_relationship_load,
                     sorted(o.payload for o in ctx.user_defined_options)))

    opts = [Shard("s1"), Local("l1")]
    if how == "lazy_with_options":
        opts.append(datamapper.lazyload(Author.books).options(datamapper.lazyload(Book.pages)))
    elif how == "selectin":
        opts.append(selectinload(Author.books).options(selectinload(Book.pages)))
    if how == "query":
        authors = s.query(Author).options(*opts).order_by(Author.id).all()
    else:
        authors = s.scalars(select(Author).options(*opts).order_by(Author.id)).all()
    for a in authors:
        for b in a.books:
            b.pages
    top, *loads = seen
    assert top == (False, ["l1", "s1"])
    # selectin: one load per level; lazy: one per author, then one per book
    assert len(loads) == (2 if how == "selectin" else 2 + 3)
    assert loads == [(True, ["s1"])] * len(loads)


def test_get_passes_its_arguments_to_the_listener(authors_filled, make_session):
    Author, _b, _p = authors_filled
    s = make_session()
    seen = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        seen.append((dict(ctx.execution_options), dict(ctx.bind_arguments)))

    assert s.get(Author, 1, execution_options={"foo": "bar"}, bind_arguments={"x": 1}) \
        is not None
    assert seen == [({"foo": "bar"}, {"x": 1})]


def test_core_select_of_attributes_names_their_mappers(authors_filled, make_session):
    """A select of mapped attributes (not whole entities) is an ORM statement: its
    mappers are those of its columns, in order, the first one the bind mapper."""
    Author, Book, _p = authors_filled
    s = make_session()
    seen = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        seen.append((ctx.is_orm_statement, ctx.bind_mapper, ctx.all_mappers))

    rows = s.execute(core_select(Book.title, Author.name, Book.id).join(Author)
                     .order_by(Book.id)).all()
    assert [tuple(r) for r in rows] == [("b1", "a1", 1), ("b2", "a1", 2), ("b3", "a2", 3)]
    s.execute(core_select(func.count()).select_from(Author)).scalar()
    s.execute(core_select(bindparam("x", 1))).scalar()
    ma, mb = datamapper.class_mapper(Author), datamapper.class_mapper(Book)
    assert seen == [(True, mb, [mb, ma]), (True, ma, [ma]), (False, None, [])]


def test_user_option_given_before_with_only_columns_is_seen(authors_filled, make_session):
    """Core's ``with_only_columns()`` moves the options given before it aside with the
    entities it replaced; listeners still see the user-defined ones."""
    Author, _b, _p = authors_filled

    class Tag(UserDefinedOption):
        pass

    s = make_session()
    seen = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        seen.append([type(o) for o in ctx.user_defined_options])

    rows = s.execute(core_select(Author).options(Tag("t")).with_only_columns(Author.id)
                     .order_by(Author.id)).all()
    assert [tuple(r) for r in rows] == [(1,), (2,)]
    assert seen == [[Tag]]


def test_load_options_show_yield_per_populate_existing_autoflush_and_shard(
        authors_filled, make_session):
    Author, _b, _p = authors_filled
    s = make_session()
    seen = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        lo = ctx.load_options
        seen.append((lo._yield_per, lo._populate_existing, lo._autoflush, lo._identity_token,
                     lo._lazy_loaded_from is not None))

    assert len(s.query(Author).yield_per(15).all()) == 2
    assert len(s.query(Author).populate_existing().autoflush(False).all()) == 2
    assert len(s.scalars(select(Author).execution_options(yield_per=7)).all()) == 2
    assert len(s.execute(select(Author), execution_options={
        "populate_existing": True, "autoflush": False}).all()) == 2
    a1 = s.get(Author, 1, populate_existing=True)
    s.get(Author, 1, identity_token="shard1")
    a1.books  # a lazy load: the state it loads for
    assert seen == [(15, False, True, None, False), (None, True, False, None, False),
                    (7, False, True, None, False), (None, True, False, None, False),
                    (None, True, True, None, False), (None, False, True, "shard1", False),
                    (None, False, True, None, True)]


def test_load_options_are_read_only_and_only_for_selects(authors_filled, make_session):
    Author, _b, _p = authors_filled
    s = make_session()
    errors = []

    @datamapper.event.listens_for(s, "do_orm_execute")
    def go(ctx):
        if ctx.is_select:
            with pytest.raises(AttributeError, match="update_execution_options"):
                ctx.load_options._yield_per = 3
        else:
            with pytest.raises(InvalidRequestError, match="not against a SELECT"):
                ctx.load_options
            errors.append(type(ctx.statement).__name__)

    s.scalars(select(Author)).all()
    s.execute(update(Author).where(Author.id == 1).values(name="x"))
    assert errors == ["Update"]
