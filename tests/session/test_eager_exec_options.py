"""Eager loaders (selectin, subquery, immediate) run their SELECTs with the
execution options of the statement that asked for them."""

import pytest
from sqlalchemy import event

import datamapper
from datamapper import select


def _cursor_options(engine, key):
    seen = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(context.execution_options.get(key))

    event.listen(engine, "before_cursor_execute", listener)
    return seen


@pytest.mark.parametrize("loader", ["selectinload", "subqueryload", "immediateload"])
@pytest.mark.parametrize("where", ["statement", "call", "query"])
def test_eager_loaders_run_with_the_statements_execution_options(
        authors_filled, make_session, engine, loader, where):
    # (before: the eager loaders' SELECTs ran without them; a schema_translate_map
    # given to the statement did not reach them)
    Author, _b, _p = authors_filled
    s = make_session()
    seen = _cursor_options(engine, "tag")
    opt = getattr(datamapper, loader)(Author.books)
    if where == "statement":
        s.scalars(select(Author).options(opt).execution_options(tag="t")).all()
    elif where == "call":
        s.scalars(select(Author).options(opt), execution_options={"tag": "t"}).all()
    else:
        s.query(Author).options(opt).execution_options(tag="t").all()
    assert len(seen) >= 2 and seen == ["t"] * len(seen)
    seen.clear()
    s.scalars(select(Author).options(opt).execution_options(populate_existing=True)).all()
    assert seen and seen == [None] * len(seen)  # and only for that statement
