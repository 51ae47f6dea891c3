"""``sqlalchemy.select(User)`` is re-laid out over the entity's columns once per
statement.  For one selected class the coerced columns and FROMs are kept on the
class's row layout and applied without Core's ``with_only_columns()``
(``_core.relay_select``); the statement must be exactly what
``with_only_columns(..., maintain_column_froms=True)`` makes: the same state, the
same SQL, the same cache key, the same rows.
"""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, func, select, text

from datamapper import DeclarativeBase, Mapped, Session, aliased, mapped_column, relationship
from datamapper._core import copy_generative, generate_cache_key, relay_facts, relay_select
from datamapper.query.entities import entity_layout
from datamapper.query.orm_select import ORMSelect, orm_select_from_core


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        type_annotation_map = {str: String(50)}

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "relay_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        bio: Mapped[str] = mapped_column(deferred=True)
        addresses: Mapped[list[Address]] = relationship()

    class Address(Base):
        __tablename__ = "relay_addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str]
        user_id: Mapped[int] = mapped_column(ForeignKey("relay_users.id"))

    metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=i, name=f"u{i}", bio="b",
                        addresses=[Address(id=10 * i + k, email=f"e{i}{k}") for k in range(i)])
                   for i in range(1, 4)])
        s.commit()
    return User, Address


def _statements(User, Address):
    other = aliased(Address)
    return {
        "plain": select(User),
        "where": select(User).where(User.name == "u2"),
        "order_limit": select(User).order_by(User.name.desc()).limit(2).offset(1),
        "distinct": select(User).distinct(),
        "select_from_table": select(User).select_from(User.__table__),
        "select_from_join": select(User).select_from(
            User.__table__.join(Address.__table__)).where(Address.email == "e21"),
        "correlated": select(User).where(
            select(func.count(Address.id)).where(Address.user_id == User.id)
            .scalar_subquery() > 1),
        "exists_alias": select(User).where(
            select(other.id).where(other.user_id == User.id).exists()),
        "group_having": select(User).group_by(User.id, User.name, User.bio)
        .having(func.count() > 0),
        "text_where": select(User).where(text("relay_users.id > 1")),
        "for_update": select(User).where(User.id == 1).with_for_update(),
        "execution_options": select(User).execution_options(populate_existing=True),
    }


def _reference(stmt, cls):
    """The ORM statement made through Core's with_only_columns()."""
    layout = entity_layout([cls])
    relaid = stmt.with_only_columns(*layout.columns, maintain_column_froms=True)
    return copy_generative(ORMSelect.__new__(ORMSelect), relaid)


def test_the_relayed_statement_has_the_state_with_only_columns_gives(models, engine):
    User, Address = models
    for name, stmt in _statements(User, Address).items():
        ref = _reference(stmt, User)
        layout = entity_layout([User])
        cols, froms = relay_facts(stmt, layout.columns)
        got = ORMSelect.__new__(ORMSelect)
        assert relay_select(got, stmt, cols, froms), name
        assert got.__dict__.keys() == ref.__dict__.keys(), name
        for key, value in ref.__dict__.items():
            mine = got.__dict__[key]
            if isinstance(value, (list, tuple)):
                assert len(mine) == len(value) and all(
                    a is b for a, b in zip(mine, value, strict=True)), (name, key)
            else:
                assert mine is value or mine == value, (name, key)
        assert str(got.compile(engine)) == str(ref.compile(engine)), name
        assert generate_cache_key(got) == generate_cache_key(ref), name


def test_statements_with_joins_or_options_are_not_relayed(models):
    User, Address = models
    layout = entity_layout([User])
    for stmt in (select(User).join(User.addresses),
                 select(User).join_from(User, Address)):
        cols, froms = relay_facts(stmt, layout.columns)
        target = ORMSelect.__new__(ORMSelect)
        assert not relay_select(target, stmt, cols, froms)
        assert target.__dict__ == {}


def test_core_selects_of_a_class_load_the_same_rows_each_time(models, engine):
    User, Address = models
    expected = {
        "plain": [1, 2, 3], "where": [2], "order_limit": [2, 1], "distinct": [1, 2, 3],
        "select_from_table": [1, 2, 3], "select_from_join": [2], "correlated": [2, 3],
        "exists_alias": [1, 2, 3], "group_having": [1, 2, 3], "text_where": [2, 3],
        "for_update": [1], "execution_options": [1, 2, 3],
    }
    for _ in range(2):  # the second round uses the kept facts
        with Session(engine) as s:
            for name, stmt in _statements(User, Address).items():
                got = s.scalars(stmt).all()
                ids = [u.id for u in got]
                assert (ids if name == "order_limit" else sorted(ids)) == expected[name], name
    # joins and options still take Core's own path
    with Session(engine) as s:
        rows = s.scalars(select(User).join(User.addresses).where(Address.email == "e32")).all()
        assert [u.id for u in rows] == [3]


def test_the_kept_facts_follow_the_class_selected(models):
    User, Address = models
    orm_select_from_core(select(User))
    assert entity_layout([User]).core_relay[0] is select(User)._raw_columns[0]
    out = orm_select_from_core(select(Address).where(Address.id == 1))
    assert [c.name for c in out.selected_columns] == ["id", "email", "user_id"]
    out = orm_select_from_core(select(User).where(User.id == 1))
    assert [c.name for c in out.selected_columns] == ["id", "name"]  # (bio is deferred)
