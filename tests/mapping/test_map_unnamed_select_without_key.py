"""Mapping a class to an unnamed alias of a SELECT of plain columns (no primary key to
derive) is refused naming its columns; the message read "Can't map Subset to
%(1234 anon)s: ..." (Core's anonymous label as the name)."""

import pytest
from sqlalchemy import column, select

from datamapper import exc, registry


def test_unnamed_select_without_a_key_is_refused_by_its_columns():
    reg = registry()

    class Subset:
        pass

    sel = select(column("x"), column("y")).alias()
    with pytest.raises(exc.ArgumentError,
                       match=r"Can't map Subset to an unnamed subquery of the columns x, y: could "
                             r"not assemble any primary key columns .* primary_key="):
        reg.map_imperatively(Subset, sel)
    reg.dispose()
