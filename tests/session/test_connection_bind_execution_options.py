"""A Session bound to a Connection applies its execution_options there too, so the
flush's statements carry them (schema_translate_map, custom options)."""

from sqlalchemy import Column, Integer, MetaData, String, Table, event

from datamapper import Session, registry


def test_flush_on_a_connection_bind_carries_the_session_options(engine, User, read_rows):
    seen = []
    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute",
                     lambda c, cur, stmt, p, ctx, many: seen.append(
                         (stmt.split()[0].upper(), ctx.execution_options.get("tag"))))
        s = Session(conn, execution_options={"tag": "mine"})
        s.add(User(id=1, name="a"))
        s.flush()
        u = s.get(User, 1)
        u.name = "b"
        s.flush()
        s.delete(u)
        s.flush()
        s.commit()
        s.close()
    kinds = {k for k, tag in seen if tag == "mine"}
    assert {"INSERT", "UPDATE", "DELETE"} <= kinds
    assert all(tag == "mine" for _k, tag in seen)


def test_schema_translate_map_applies_to_the_flush(engine, read_rows):
    md = MetaData()
    table = Table("translated", md, Column("id", Integer, primary_key=True),
                  Column("name", String(20)), schema="placeholder")

    class Thing:
        pass

    reg = registry()
    reg.map_imperatively(Thing, table)
    plain = Table("translated", MetaData(), Column("id", Integer, primary_key=True),
                  Column("name", String(20)))
    plain.create(engine)
    try:
        with engine.connect() as conn:
            s = Session(conn, execution_options={
                "schema_translate_map": {"placeholder": None}})
            t = Thing()
            t.id, t.name = 1, "x"
            s.add(t)
            s.flush()
            t.name = "y"
            s.commit()
            s.close()
        assert read_rows("SELECT id, name FROM translated") == [(1, "y")]
    finally:
        plain.drop(engine)
        reg.dispose()
