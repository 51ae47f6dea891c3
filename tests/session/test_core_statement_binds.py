"""A Core statement built from mapped classes runs on the bind of the first mapped
class it names (its mapper, a mapped or unmapped base class, or its table), and
``get_bind()`` receives that mapper; a statement of plain tables passes none."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, aliased, class_mapper, declarative_base


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column("user_name", String(50))

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer, ForeignKey("users.id"))

    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), [{"id": 1, "user_name": "ed"}])
        conn.execute(Address.__table__.insert(), [{"id": 5, "user_id": 1}])
    return Base, User, Address


@pytest.fixture
def empty_engine():
    """A database without the tables: a statement routed here fails."""
    e = sa.create_engine("sqlite://")
    yield e
    e.dispose()


def _statements(User, Address, session=None):
    ua = aliased(User)
    more = [] if session is None else [
        ("query().statement", session.query(Address).statement, Address)]
    return more + [
        ("select(User.id)", sa.select(User.id), User),
        ("where(User.name)", sa.select(sa.literal(1)).where(User.name == "ed"), User),
        ("select_from(User)", sa.select(sa.func.count()).select_from(User), User),
        ("join_from(User, Address)", sa.select(sa.literal(1)).join_from(User, Address),
         User),
        ("join_from(Address, User)", sa.select(sa.literal(1)).join_from(Address, User),
         Address),
        ("aliased", sa.select(ua.id).where(ua.name == "ed"), User),
        ("union subquery", sa.select(sa.union_all(sa.select(User.id),
                                                  sa.select(User.id)).subquery()), User),
    ]


@pytest.mark.parametrize("key", ["base", "class", "mapper"])
def test_core_statement_of_mapped_classes_runs_on_their_bind(models, engine, empty_engine,
                                                             key):
    Base, User, Address = models
    target = {"base": Base, "class": User, "mapper": class_mapper(User)}[key]
    binds = {target: engine, Address: engine}
    with Session(empty_engine, binds=binds) as s:
        for label, stmt, _ in _statements(User, Address, s):
            assert s.execute(stmt).first() is not None, label
        # ORM DML built on the class goes there too
        s.execute(sa.update(User).where(User.id == 1).values(name="jack")
                  .execution_options(synchronize_session=False))
        assert s.execute(sa.select(User.name)).scalar() == "jack"
        s.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.text("select user_name from users")).scalar() == "jack"


def test_get_bind_receives_the_first_mapped_class_a_core_statement_names(
        models, engine, empty_engine):
    Base, User, Address = models
    seen = []

    class Recording(Session):
        def get_bind(self, mapper=None, clause=None, **kw):
            seen.append(mapper)
            return super().get_bind(mapper, clause, **kw)

    with Recording(empty_engine, binds={User: engine, Address: engine}) as s:
        for label, stmt, expected in _statements(User, Address, s):
            del seen[:]
            s.execute(stmt).all()
            assert seen == [class_mapper(expected)], label
        # plain Core: no mapper; the table's bind (given with its class) still applies
        del seen[:]
        assert s.execute(sa.select(User.__table__)).all() == [(1, "ed")]
        assert seen == [None]
        del seen[:]
        assert s.execute(sa.select(sa.literal(1))).scalar() == 1
        assert seen == [None]
