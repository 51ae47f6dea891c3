"""A batch of new rows with generated keys: every column value reaches its own column
and every object gets the key of its own row, whatever the order of the mapped
attributes against the table's columns, with the column types' bind processing
applied, and with rows of other shapes (a None where a default applies, an explicit
key) in the same flush."""

from sqlalchemy import Column, Integer, MetaData, String, Table, TypeDecorator

from datamapper import Session, registry


class Upper(TypeDecorator):
    impl = String(50)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else value.upper()


def _mapped(engine):
    metadata = MetaData()
    table = Table(
        "many_rows", metadata,
        Column("id", Integer, primary_key=True),
        Column("a", String(50), nullable=False),
        Column("b", Upper()),
        Column("c", Integer, default=7),
    )

    class Row:
        pass

    # the attributes in another order than the table's columns
    registry(metadata=metadata).map_imperatively(
        Row, table, properties={"c": table.c.c, "b": table.c.b, "a": table.c.a})
    metadata.create_all(engine)
    return Row, table


def test_many_new_rows_write_each_value_to_its_column(engine, read_rows):
    Row, table = _mapped(engine)
    objs = []
    for i in range(1, 601):
        r = Row()
        r.a, r.b, r.c = f"a{i}", f"b{i}", i
        objs.append(r)
    odd = Row()
    odd.a, odd.b, odd.c = "default-c", "x", None  # None where a default applies
    keyed = Row()
    keyed.id, keyed.a, keyed.b, keyed.c = 5000, "keyed", "k", 1
    with Session(engine) as session:
        session.add_all([*objs[:300], odd, keyed, *objs[300:]])
        session.commit()
        ids = [o.id for o in objs]
        assert odd.c == 7 and keyed.id == 5000
    rows = {r[0]: r[1:] for r in read_rows(table)}
    assert len(rows) == 602
    for i, pk in enumerate(ids, 1):
        assert rows[pk] == (f"a{i}", f"B{i}", i)
    assert rows[odd.id] == ("default-c", "X", 7)
    assert rows[5000] == ("keyed", "K", 1)
