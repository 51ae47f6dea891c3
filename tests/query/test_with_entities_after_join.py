"""Query.with_entities() after a join to a class: the joins made so far start from the
entities selected before, as in SQLAlchemy.  ``query(User).join(Address)
.with_entities(Address.id)`` raised "Don't know how to join to Table('addresses')",
and a further join then read ``FROM dingalings JOIN addresses ... JOIN dingalings``
(an ambiguous-column error, or rows of the wrong join)."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, func

from datamapper import DeclarativeBase, Mapped, Session, mapped_column, relationship


@pytest.fixture
def M(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(30)}

    Base.registry.metadata = metadata

    class User(Base):
        __tablename__ = "wej_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        addresses: Mapped[list[Address]] = relationship(order_by="Address.id")

    class Address(Base):
        __tablename__ = "wej_addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]
        user_id: Mapped[int | None] = mapped_column(ForeignKey("wej_users.id"))
        dingalings: Mapped[list[Dingaling]] = relationship()

    class Dingaling(Base):
        __tablename__ = "wej_dingalings"
        id: Mapped[int] = mapped_column(primary_key=True)
        address_id: Mapped[int] = mapped_column(ForeignKey("wej_addresses.id"))

    class Manager(User):
        __tablename__ = "wej_managers"
        id: Mapped[int] = mapped_column(ForeignKey("wej_users.id"), primary_key=True)
        level: Mapped[int]

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([
            User(id=1, name="a", addresses=[Address(id=10, email="a@x",
                                                    dingalings=[Dingaling(id=100)])]),
            Manager(id=2, name="b", level=1,
                    addresses=[Address(id=20, email="b@x", dingalings=[Dingaling(id=200)]),
                               Address(id=21, email="b2@x")]),
            User(id=3, name="c"),
        ])
        # an address nobody joins to: a FROM list without the users table reads it
        s.add(Address(id=30, email="none@x", user_id=None))
        s.commit()

    class M:
        pass

    M.User, M.Address, M.Dingaling, M.Manager = User, Address, Dingaling, Manager
    return M


def test_columns_of_the_joined_class(M, session, sql_log):
    User, Address = M.User, M.Address
    q = session.query(User).join(Address).filter(User.name != "c")
    assert q.with_entities(Address.id).order_by(Address.id).all() == [(10,), (20,), (21,)]
    assert "JOIN wej_addresses" in sql_log.statements[-1]
    assert q.with_entities(func.count(Address.id)).scalar() == 3
    assert [a.id for a in q.with_entities(Address).order_by(Address.id)] == [10, 20, 21]


def test_a_further_join_after_with_entities(M, session, sql_log):
    User, Address, Dingaling = M.User, M.Address, M.Dingaling
    q = (session.query(User).join(Address).with_entities(Address.id)
         .join(Address.dingalings).with_entities(Dingaling.id).order_by(Dingaling.id))
    assert q.all() == [(100,), (200,)]
    sql = sql_log.statements[-1].replace("INNER JOIN", "JOIN")  # (MySQL's spelling)
    assert "FROM wej_users JOIN wej_addresses" in sql
    assert sql.count("wej_dingalings ON") == 1
    # an outer join keeps the users without addresses
    q = (session.query(User).outerjoin(Address).with_entities(User.name, Address.id)
         .order_by(User.id, Address.id))
    assert q.all() == [("a", 10), ("b", 20), ("b", 21), ("c", None)]


def test_a_joined_table_subclass_keeps_its_tables(M, session):
    Manager, Address = M.Manager, M.Address
    q = session.query(Manager).join(Address, Manager.id == Address.user_id)
    assert q.with_entities(Address.id, Manager.level).order_by(Address.id).all() == [
        (20, 1), (21, 1)]
    assert q.with_entities(Address.email).order_by(Address.id).all() == [("b@x",), ("b2@x",)]
