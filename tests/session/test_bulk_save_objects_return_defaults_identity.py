"""bulk_save_objects(objs, return_defaults=True) gives each new object its primary
key and its identity (detached, clean): a later bulk_save_objects() of the same
objects UPDATEs their rows instead of inserting them again, and add() makes them
persistent without an INSERT.  Without return_defaults they stay transient."""

from sqlalchemy import Column, Integer, String

from datamapper import inspect


def _model(Base, engine):
    class U(Base):
        __tablename__ = "u"
        id = Column(Integer, primary_key=True)
        name = Column(String(10))

    Base.metadata.create_all(engine)
    return U


def test_saved_objects_are_updated_by_the_next_save(Base, engine, session, read_rows):
    U = _model(Base, engine)
    objs = [U(name="a"), U(name="b")]
    session.bulk_save_objects(objs, return_defaults=True)
    st = inspect(objs[0])
    assert (st.detached, st.key[1], st.modified) == (True, (objs[0].id,), False)
    objs[0].name = "a2"
    session.bulk_save_objects(objs)
    session.add(objs[1])
    objs[1].name = "b2"
    session.commit()
    assert read_rows("SELECT name FROM u ORDER BY id") == [("a2",), ("b2",)]


def test_without_return_defaults_objects_stay_transient(Base, engine, session, read_rows):
    U = _model(Base, engine)
    objs = [U(name="a"), U(name="b")]
    session.bulk_save_objects(objs)
    assert all(inspect(o).transient for o in objs)
    session.commit()
    assert read_rows("SELECT name FROM u ORDER BY id") == [("a",), ("b",)]
