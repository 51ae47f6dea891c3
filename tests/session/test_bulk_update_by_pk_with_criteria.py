"""An UPDATE by primary key (``session.execute(update(A).where(...), [dicts])``) whose
statement has criteria besides the key: a row the criteria exclude is not changed,
and its object in the identity map must not show the values either (it used to take
them all the same, a value its row never held).  On a joined-inheritance subclass,
whose tables are updated one statement each, such criteria are refused before any
SQL (they used to be dropped, changing rows they excluded)."""

import pytest
from sqlalchemy import ForeignKey, String, func, select, update

from datamapper import DeclarativeBase, Mapped, mapped_column
from datamapper.exc import InvalidRequestError


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Flat(Base):
        __tablename__ = "upc_flat"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        data: Mapped[str] = mapped_column(String(20))
        bd: Mapped[str] = mapped_column(String(20))

    class Parent(Base):
        __tablename__ = "upc_parent"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        type: Mapped[str] = mapped_column(String(20))
        data: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "p"}  # noqa: RUF012

    class Child(Parent):
        __tablename__ = "upc_child"
        id: Mapped[int] = mapped_column(ForeignKey("upc_parent.id"), primary_key=True)
        bd: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_identity": "c"}  # noqa: RUF012

    metadata.create_all(engine)
    return Flat, Child


@pytest.mark.parametrize("sync", ["auto", "evaluate", "fetch"])
def test_object_of_a_row_the_criteria_exclude_keeps_its_value(models, make_session,
                                                              read_rows, sync):
    Flat, _c = models
    s = make_session()
    s.add_all([Flat(id=1, data="d1", bd="bd1"), Flat(id=2, data="keep", bd="bd2")])
    s.commit()
    a1, a2 = s.get(Flat, 1), s.get(Flat, 2)
    s.execute(update(Flat).where(Flat.data != "keep"),
              [{"id": 1, "bd": "X"}, {"id": 2, "bd": "X"}],
              execution_options={"synchronize_session": sync})
    assert (a1.bd, a2.bd) == ("X", "bd2")
    assert s.dirty == set()
    s.commit()
    assert read_rows("SELECT id, bd FROM upc_flat ORDER BY id") == [(1, "X"), (2, "bd2")]


def test_criteria_on_a_joined_subclass_update_by_key_are_refused(models, make_session,
                                                                 read_rows, sql_log):
    _f, Child = models
    s = make_session()
    s.add_all([Child(id=1, data="d1", bd="bd1"), Child(id=2, data="keep", bd="bd2")])
    s.commit()
    sql_log.clear()
    with pytest.raises(InvalidRequestError, match="where\\(\\) criteria .* several tables"):
        s.execute(update(Child).where(Child.data != "keep"),
                  [{"id": 1, "bd": "X"}, {"id": 2, "bd": "X"}])
    assert sql_log.matching("UPDATE") == []
    assert read_rows("SELECT bd FROM upc_child ORDER BY id") == [("bd1",), ("bd2",)]


def test_values_of_a_joined_subclass_update_by_key_go_to_their_tables(models, make_session,
                                                                      read_rows):
    _f, Child = models
    s = make_session()
    s.add_all([Child(id=1, data="d1", bd="bd1"), Child(id=2, data="d2", bd="bd2")])
    s.commit()
    c1 = s.get(Child, 1)
    s.execute(update(Child).values(data=func.lower("NEW")), [{"id": 1, "bd": "X"},
                                                             {"id": 2, "bd": "Y"}])
    assert (c1.data, c1.bd) == ("new", "X")  # the SQL value expired, then loaded
    s.commit()
    assert read_rows("SELECT p.data, c.bd FROM upc_parent p JOIN upc_child c "
                     "ON p.id = c.id ORDER BY p.id") == [("new", "X"), ("new", "Y")]
    assert s.scalars(select(Child.data)).all() == ["new", "new"]
