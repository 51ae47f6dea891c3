"""Session(future=True): SQLAlchemy 2.x semantics where they differ from the
seed documents (API.md "Where SQLAlchemy 2.x changed what the documents
describe"); the default keeps the documents' behaviour.  Each difference is
tested both ways."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, text

from datamapper import declarative_base, relationship, sessionmaker
from datamapper.exc import ArgumentError, InvalidRequestError
from datamapper.session import Session


@pytest.fixture
def models(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "fm_users"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20))
        addresses = relationship("Address", backref="user", order_by="Address.id")

    class Address(Base):
        __tablename__ = "fm_addresses"
        id = Column(Integer, primary_key=True, autoincrement=False)
        user_id = Column(Integer, ForeignKey("fm_users.id"))

    metadata.create_all(engine)
    return User, Address


@pytest.mark.parametrize("future", [False, True])
def test_rollback_after_begin_nested(engine, models, read_rows, future):
    User, _A = models
    s = Session(engine, future=future)
    s.add(User(id=1, name="outer"))
    s.flush()
    s.begin_nested()
    s.add(User(id=2, name="inner"))
    s.flush()
    s.rollback()
    s.commit()
    # documents: only the SAVEPOINT is rolled back; 2.x: the whole transaction
    assert read_rows(User.__table__) == ([] if future else [(1, "outer")])


def test_future_rollback_rolls_back_each_savepoint_then_the_root(engine, models, read_rows):
    """Session(future=True).rollback() inside SAVEPOINTs rolls each back in turn, from
    the innermost: every level fires after_rollback and after_soft_rollback (as in
    SQLAlchemy; the savepoints fired only after_transaction_end), and the objects end as
    after a rollback of the whole transaction."""
    import datamapper

    User, _A = models
    s = Session(engine, future=True)
    seen = []
    for name in ("after_rollback", "after_soft_rollback", "after_transaction_end"):
        datamapper.event.listen(
            s, name, lambda sess, *tx, name=name: seen.append(
                (name, tx[0].nested if tx else None)))
    u1 = User(id=1, name="outer")
    s.add(u1)
    s.flush()
    s.begin_nested()
    u1.name = "changed"
    s.flush()
    s.begin_nested()
    u2 = User(id=2, name="inner")
    s.add(u2)
    s.flush()
    seen.clear()  # (each flush begins and ends a subtransaction)
    s.rollback()
    assert seen == [
        ("after_rollback", None), ("after_transaction_end", True),
        ("after_soft_rollback", True),
        ("after_rollback", None), ("after_transaction_end", True),
        ("after_soft_rollback", True),
        ("after_rollback", None), ("after_transaction_end", False),
        ("after_soft_rollback", False),
    ]
    assert not s.in_transaction()
    assert u1 not in s and u2 not in s  # both were inserted in the transaction
    s.commit()
    assert read_rows(User.__table__) == []


@pytest.mark.parametrize("future", [False, True])
def test_plain_string_to_execute(engine, models, sql_log, future):
    s = Session(engine, future=future)
    if future:
        sql_log.clear()
        with pytest.raises(ArgumentError, match=r"sqlalchemy\.text\(\)"):
            s.execute("SELECT 1")
        assert sql_log.count == 0
    else:
        assert s.execute("SELECT 1").scalar() == 1
    assert s.execute(text("SELECT 2")).scalar() == 2
    s.close()


@pytest.mark.parametrize("future", [False, True])
def test_backref_assignment_cascades_only_without_future(engine, models, future):
    User, Address = models
    s = Session(engine, future=future)
    u = User(id=1, name="u")
    s.add(u)
    a = Address(id=1)
    a.user = u  # backref appends a to u.addresses
    assert (a in s) is (not future)
    s.close()


@pytest.mark.parametrize("future", [False, True])
def test_refresh_of_relationship_names_only(engine, models, sql_log, future):
    User, Address = models
    s = Session(engine, future=future)
    s.add(User(id=1, name="u", addresses=[Address(id=1)]))
    s.commit()
    u = s.get(User, 1)
    assert len(u.addresses) == 1
    with engine.begin() as conn:
        conn.execute(Address.__table__.insert(), {"id": 2, "user_id": 1})
    s.rollback()  # see the new row in a new transaction
    u = s.get(User, 1)
    u.addresses  # loaded: one address (the new row is committed now, so two)
    if future:
        s.refresh(u, ["addresses"])
        assert "addresses" in u.__dict__ and [a.id for a in u.addresses] == [1, 2]
    else:
        with pytest.raises(InvalidRequestError, match="only relationship"):
            s.refresh(u, ["addresses"])
    s.close()


@pytest.mark.parametrize("future", [False, True])
def test_query_join_by_relationship_name(engine, models, future):
    User, _A = models
    s = Session(engine, future=future)
    if future:
        with pytest.raises(ArgumentError, match="User.addresses"):
            s.query(User).join("addresses")
    else:
        assert s.query(User).join("addresses").all() == []
    assert s.query(User).join(User.addresses).all() == []
    s.close()


def test_sessionmaker_passes_future(engine, models):
    maker = sessionmaker(bind=engine, future=True)
    s = maker()
    assert s.future is True
    assert Session(engine).future is False
    s.close()
