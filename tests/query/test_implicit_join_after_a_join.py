"""A join to a class without an ON clause after another join: the foreign keys of the
table joined last are tried first, as Core's own join does.  With orders and users
both holding a key to addresses, ``query(User).outerjoin(Order).join(Address)``
raised AmbiguousForeignKeysError; SQLAlchemy joins addresses to orders."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, select

from datamapper import DeclarativeBase, Mapped, Session, mapped_column


@pytest.fixture
def M(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(30)}

    Base.registry.metadata = metadata

    class Address(Base):
        __tablename__ = "ija_addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]

    class User(Base):
        __tablename__ = "ija_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        home_id: Mapped[int | None] = mapped_column(ForeignKey("ija_addresses.id"))

    class Order(Base):
        __tablename__ = "ija_orders"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("ija_users.id"))
        ship_to_id: Mapped[int | None] = mapped_column(ForeignKey("ija_addresses.id"))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Address(id=1, email="home@x"), Address(id=2, email="ship@x")])
        s.flush()
        s.add_all([User(id=1, name="a", home_id=1), User(id=2, name="b", home_id=1)])
        s.flush()
        s.add_all([Order(id=1, user_id=1, ship_to_id=2)])
        s.commit()
    return User, Address, Order


def test_the_table_joined_last_is_tried_first(M, session, sql_log):
    User, Address, Order = M
    q = (session.query(User.name).outerjoin(Order).join(Address)
         .filter(Address.email == "ship@x").order_by(User.id))
    assert q.all() == [("a",)]
    sql = sql_log.statements[-1]
    assert "ija_addresses.id = ija_orders.ship_to_id" in sql
    assert "home_id" not in sql
    assert [u.id for u in session.query(User).outerjoin(Order).join(Address)] == [1]
    users, addresses, orders = (c.__table__ for c in (User, Address, Order))
    q = (session.query(users).outerjoin(orders).join(addresses)
         .filter(addresses.c.email == "ship@x"))
    assert q.all() == [(1, "a", 1)]
    # the 2.x select() agrees
    stmt = select(User.name).outerjoin(Order).join(Address)
    assert session.execute(stmt).all() == [("a",)]
