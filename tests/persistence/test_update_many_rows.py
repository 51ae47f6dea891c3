"""A batch of loaded objects each changing one attribute (the usual edit) is written as
one executemany per changed column: every row gets its own new value, the column
types' bind processing applies, and objects that changed several attributes, or
changed one back, are written with the same statements in the same flush."""

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
        "many_updates", metadata,
        Column("id", Integer, primary_key=True),
        Column("a", String(50)),
        Column("b", Upper()),
        Column("c", Integer),
    )

    class Row:
        pass

    registry(metadata=metadata).map_imperatively(Row, table)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": i, "a": f"a{i}", "b": f"B{i}", "c": i}
                                      for i in range(1, 401)])
    return Row, table


def test_many_changed_rows_write_each_value_to_its_row(engine, read_rows):
    Row, table = _mapped(engine)
    with Session(engine) as session:
        objs = sorted(session.query(Row).all(), key=lambda o: o.id)
        # a row changing two attributes, one of them back: the shape of a one-column
        # change, met before and after the one-column changes
        objs[0].a, objs[0].c = "changed", 5
        objs[0].a = "a1"
        for o in objs[1:200]:
            o.c = o.id * 10
        for o in objs[200:300]:
            o.b = f"new{o.id}"
        for o in objs[300:350]:
            o.a, o.c = f"both{o.id}", -o.id
        objs[350].c = objs[350].c  # the same value: nothing to write
        objs[351].c, objs[351].a = 0, "x"
        objs[351].a = "a352"  # back to the loaded value: a one-column change of c
        session.commit()
    rows = {r[0]: r[1:] for r in read_rows(table)}
    assert rows[1] == ("a1", "B1", 5)
    for i in range(2, 201):
        assert rows[i] == (f"a{i}", f"B{i}", i * 10)
    for i in range(201, 301):
        assert rows[i] == (f"a{i}", f"NEW{i}", i)
    for i in range(301, 351):
        assert rows[i] == (f"both{i}", f"B{i}", -i)
    assert rows[351] == ("a351", "B351", 351)
    assert rows[352] == ("a352", "B352", 0)
    for i in range(353, 401):
        assert rows[i] == (f"a{i}", f"B{i}", i)
