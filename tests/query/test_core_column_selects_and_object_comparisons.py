"""Core selects of mapped columns through the Session, and comparisons to objects.

``session.execute(select(User.name))`` reads a mapped table, so pending changes
are flushed first, as before a query of entities (SQLAlchemy's tutorial relies
on it); ``Address.user != some_user`` also matches rows whose foreign key is
NULL (they refer to no user, so not to that one).
"""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, func, select, text

from datamapper import DeclarativeBase, Mapped, Session, mapped_column, relationship


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        addresses: Mapped[list[Address]] = relationship(back_populates="user")

    class Address(Base):
        __tablename__ = "addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]
        user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
        user: Mapped[User | None] = relationship(back_populates="addresses")

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=1, name="ed", addresses=[Address(id=1, email="e@x")]),
                   User(id=2, name="jo", addresses=[Address(id=2, email="j@x")]),
                   Address(id=3, email="nobody@x")])
        s.commit()
    return User, Address


def test_select_of_mapped_columns_sees_pending_changes(models, engine):
    User, _A = models
    with Session(engine) as s:
        ed = s.get(User, 1)
        ed.name = "edward"
        assert ed in s.dirty
        assert s.execute(select(User.name).where(User.id == 1)).scalar_one() == "edward"
        assert ed not in s.dirty  # flushed
        s.add(User(id=3, name="new"))
        assert s.scalar(select(func.count(User.id))) == 3


def test_autoflush_off_leaves_changes_pending_for_column_selects(models, engine):
    User, _A = models
    with Session(engine, autoflush=False) as s:
        s.get(User, 1).name = "edward"
        assert s.execute(select(User.name).where(User.id == 1)).scalar_one() == "ed"
    with Session(engine) as s:
        s.get(User, 1).name = "edward"
        stmt = select(User.name).where(User.id == 1).execution_options(autoflush=False)
        assert s.execute(stmt).scalar_one() == "ed"


def test_textual_statements_do_not_autoflush(models, engine):
    User, _A = models
    with Session(engine) as s:
        s.get(User, 1).name = "edward"
        assert s.execute(text("SELECT name FROM users WHERE id = 1")).scalar_one() == "ed"


def test_many_to_one_not_equal_an_object_matches_null_foreign_keys(models, engine):
    User, Address = models
    with Session(engine) as s:
        ed = s.get(User, 1)
        emails = s.scalars(select(Address.email).where(Address.user != ed)
                           .order_by(Address.id)).all()
        assert emails == ["j@x", "nobody@x"]
        assert s.scalars(select(Address.email).where(Address.user == ed)).all() == ["e@x"]
        assert s.scalars(select(Address.email).where(Address.user != None)  # noqa: E711
                         .order_by(Address.id)).all() == ["e@x", "j@x"]
