"""with_loader_criteria() of a statement that is not a SELECT of entities: each SELECT
of a UNION, the SELECT of an INSERT ... FROM SELECT and the statement given to
from_statement() read only the rows the criteria allow, as in SQLAlchemy.  The
criteria were ignored there: a UNION returned, and an INSERT copied, the rows a
soft-delete or tenant criterion hides."""

import pytest
from sqlalchemy import Column, Integer, String, event, insert, select, text, union

from datamapper import Session, with_loader_criteria


@pytest.fixture
def User(Base, engine, make_session):
    class User(Base):
        __tablename__ = "lcu_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        hidden = Column(Integer, nullable=False, default=0)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="a"), User(id=2, name="b", hidden=1), User(id=3, name="c")])
    s.commit()
    s.close()
    return User


def visible(User):
    return with_loader_criteria(User, User.hidden == 0)


def test_each_select_of_a_union(User, session):
    stmt = union(select(User.id, User.name).where(User.id > 1),
                 select(User.id, User.name).where(User.id <= 2)).order_by("id")
    assert session.execute(stmt.options(visible(User))).all() == [(1, "a"), (3, "c")]
    # nested: a union of a union
    nested = union(stmt.subquery().select(), select(User.id, User.name).where(User.id == 2))
    assert sorted(session.execute(nested.options(visible(User))).all()) == [(1, "a"), (3, "c")]


def test_insert_from_select(User, session, read_rows):
    stmt = insert(User).from_select(["id", "name", "hidden"],
                                    select(User.id + 10, User.name, User.hidden))
    session.execute(stmt.options(visible(User)))
    session.commit()
    assert read_rows("SELECT id FROM lcu_users ORDER BY id") == [(1,), (2,), (3,), (11,), (13,)]


def test_from_statement_of_a_select_and_of_a_union(User, session):
    inner = select(User).where(User.id > 0).order_by(User.id)
    got = session.scalars(select(User).from_statement(inner).options(visible(User))).all()
    assert [u.id for u in got] == [1, 3]
    got = session.query(User).from_statement(inner).options(visible(User)).all()
    assert [u.id for u in got] == [1, 3]
    u = union(select(User).where(User.id == 1), select(User).where(User.id == 2))
    got = session.scalars(select(User).from_statement(u).options(visible(User))).all()
    assert [u.id for u in got] == [1]
    # textual SQL is run as written
    got = session.scalars(select(User).from_statement(text(
        "SELECT id, name, hidden FROM lcu_users ORDER BY id")).options(visible(User))).all()
    assert [u.id for u in got] == [1, 2, 3]


def test_a_do_orm_execute_listener_limits_unions(User, engine):
    with Session(engine) as s:
        @event.listens_for(s, "do_orm_execute")
        def _hide(state):
            if state.is_select:
                state.statement = state.statement.options(visible(User))

        stmt = union(select(User.id), select(User.id).where(User.id == 2))
        assert sorted(s.execute(stmt).scalars().all()) == [1, 3]
