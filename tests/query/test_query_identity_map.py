"""Loading is identity-map aware."""

from sqlalchemy import Column, Integer, String, text

from datamapper import inspect, select


def test_query_returns_same_object_for_same_row(session, User):
    session.add(User(id=1, name="ed"))
    session.commit()
    a = session.query(User).filter_by(id=1).one()
    b = session.query(User).filter(User.name == "ed").one()
    assert a is b


def test_query_keeps_unflushed_changes_of_loaded_object(make_session, User):
    s = make_session(autoflush=False)
    s.add(User(id=1, name="ed"))
    s.commit()
    u = s.get(User, 1)
    u.name = "changed"
    got = s.query(User).filter_by(id=1).one()
    assert got is u
    assert got.name == "changed"
    assert u in s.dirty


def test_query_does_not_overwrite_loaded_state_with_row(engine, make_session, User):
    s = make_session(expire_on_commit=False)
    u = User(id=1, name="ed")
    s.add(u)
    s.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'other' WHERE id = 1"))
    got = s.query(User).all()
    assert got == [u]
    assert u.name == "ed"


def test_populate_existing_overwrites_loaded_state(engine, make_session, User):
    s = make_session(expire_on_commit=False, autoflush=False)
    u = User(id=1, name="ed")
    s.add(u)
    s.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'other' WHERE id = 1"))
    u.note = "unflushed"
    got = s.query(User).populate_existing().filter_by(id=1).one()
    assert got is u
    assert u.name == "other"
    assert u.note is None
    assert not s.is_modified(u)


def test_query_populates_expired_object(engine, session, User, sql_log):
    u = User(id=1, name="ed")
    session.add(u)
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'new' WHERE id = 1"))
    assert session.query(User).one() is u
    sql_log.clear()
    assert u.name == "new"
    assert sql_log.statements == []


def test_loaded_objects_are_persistent_and_clean(session, User):
    session.add_all([User(id=1, name="a"), User(id=2, name="b")])
    session.commit()
    session.expunge_all()
    objs = session.query(User).all()
    assert all(inspect(o).persistent for o in objs)
    assert len(session.dirty) == 0
    assert len(session.identity_map) == 2
    assert not any(inspect(o).modified for o in objs)


def test_attribute_name_different_from_column_name(Base, engine, make_session, read_rows, sql_log):
    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column("person_name", String(50))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Person(id=1, name="ed"))
    s.commit()
    assert read_rows(Person.__table__) == [(1, "ed")]
    sql_log.clear()
    got = s.scalars(select(Person).where(Person.name == "ed")).one()
    assert got.name == "ed"
    assert "person_name" in sql_log.matching("SELECT")[0]
    assert s.query(Person).filter_by(name="ed").one() is got


def test_order_by_string_resolves_attribute_and_column_names(Base, engine, make_session):
    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column("person_name", String(50))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Person(id=1, name="b"), Person(id=2, name="a"), Person(id=3, name="c")])
    s.commit()
    assert [p.id for p in s.query(Person).order_by("name")] == [2, 1, 3]
    assert [p.id for p in s.query(Person).order_by("person_name")] == [2, 1, 3]
