"""``session.query(1)`` (``Query([1])``) selects the number as Core's ``select(1)``
does."""

from datamapper import Session


def test_query_of_a_number_selects_the_literal(engine, sql_log):
    with Session(engine) as s:
        assert s.query(1).scalar() == 1
    assert sql_log.statements[-1].split() == ["SELECT", "1"]
