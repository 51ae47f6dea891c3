"""ORM DML of a joined-table inheritance subclass through ``Session.execute()``: each
statement on the class writes the table each column belongs to (what the database
holds afterwards, and the statements it saw)."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, delete, insert, select, update

from datamapper import DeclarativeBase, Mapped, Session, load_only, mapped_column
from datamapper.exc import InvalidRequestError


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Employee(Base):
        __tablename__ = "dmj_employee"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        type: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_identity": "employee", "polymorphic_on": "type"}

    class Manager(Employee):
        __tablename__ = "dmj_manager"
        id: Mapped[int] = mapped_column(ForeignKey("dmj_employee.id"), primary_key=True)
        manager_name: Mapped[str] = mapped_column(String(40))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Engineer(Employee):
        __tablename__ = "dmj_engineer"
        id: Mapped[int] = mapped_column(ForeignKey("dmj_employee.id"), primary_key=True)
        info: Mapped[str | None] = mapped_column(String(40))
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    metadata.create_all(engine)
    return Employee, Manager, Engineer


def _rows(read_rows, cls):
    return sorted(read_rows(cls.__table__))


def _seed(engine, Manager, Engineer):
    with Session(engine) as s:
        s.add_all([Manager(name="sandy", manager_name="Sandy"),
                   Manager(name="krabs", manager_name="Krabs"),
                   Engineer(name="bob", info="x")])
        s.commit()


def test_bulk_insert_writes_base_columns_to_the_base_table(models, engine, read_rows):
    Employee, Manager, _e = models
    with Session(engine) as s:
        managers = s.scalars(insert(Manager).returning(Manager), [
            {"name": "sandy", "manager_name": "Sandy Cheeks"},
            {"name": "ehkrabs", "manager_name": "Eugene H. Krabs"}]).all()
        assert [(type(m), m.name, m.manager_name) for m in managers] == [
            (Manager, "sandy", "Sandy Cheeks"), (Manager, "ehkrabs", "Eugene H. Krabs")]
        assert managers[0] is s.get(Manager, managers[0].id)
        s.execute(insert(Manager), [{"name": "third", "manager_name": "T"}])
        s.commit()
    assert _rows(read_rows, Employee) == [(1, "sandy", "manager"), (2, "ehkrabs", "manager"),
                                         (3, "third", "manager")]
    assert _rows(read_rows, Manager) == [(1, "Sandy Cheeks"), (2, "Eugene H. Krabs"),
                                        (3, "T")]


@pytest.mark.parametrize("many", [True, False])
def test_bulk_insert_returning_columns_of_both_tables(models, engine, many):
    """.returning() of columns and expressions of the base and the subclass table:
    a row per inserted object, in the order of the dictionaries."""
    _emp, Manager, _e = models
    rows = [{"name": "sandy", "manager_name": "Sandy Cheeks"},
            {"name": "ehkrabs", "manager_name": "Eugene H. Krabs"}]
    with Session(engine) as s:
        result = s.execute(insert(Manager).returning(
            Manager.id, Manager.name, Manager.manager_name + "!"), rows if many else rows[0])
        got = result.all()
        assert [tuple(r) for r in got] == [
            (1, "sandy", "Sandy Cheeks!"), (2, "ehkrabs", "Eugene H. Krabs!")][:len(got)]
        assert len(got) == (2 if many else 1)
        assert list(result.keys())[:2] == ["id", "name"]
        ids = s.scalars(insert(Manager).returning(Manager.id),
                        [{"name": "x", "manager_name": "X"}]).all()
        assert ids == [len(got) + 1]
        mixed = s.execute(insert(Manager).returning(Manager, Manager.manager_name),
                          [{"name": "y", "manager_name": "Y"}]).all()
        assert [(type(m), m.name, mn) for m, mn in mixed] == [(Manager, "y", "Y")]


def test_bulk_insert_returning_load_only(models, engine):
    _emp, Manager, _e = models
    with Session(engine) as s:
        objs = s.scalars(insert(Manager).returning(Manager).options(
            load_only(Manager.manager_name)), [{"name": "a", "manager_name": "A"}]).all()
        assert objs[0].__dict__.get("manager_name") == "A"
        assert "name" not in objs[0].__dict__
        assert objs[0].name == "a"


def test_bulk_insert_refuses_unknown_names_before_any_sql(models, engine, sql_log):
    _emp, Manager, _e = models
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises(InvalidRequestError, match="'nope'.*not mapped column"):
            s.execute(insert(Manager), [{"name": "a", "nope": 1}])
        assert sql_log.matching("INSERT") == []


def test_bulk_update_by_primary_key_updates_each_table_it_has_values_for(
        models, engine, read_rows, sql_log):
    Employee, Manager, Engineer = models
    _seed(engine, Manager, Engineer)
    with Session(engine) as s:
        loaded = s.get(Manager, 1)
        sql_log.clear()
        s.execute(update(Manager), [
            {"id": 1, "name": "scheeks", "manager_name": "Sandy Cheeks, President"},
            {"id": 2, "name": "eugene", "manager_name": "Eugene H. Krabs, VP"}])
        assert [st.split()[1] for st in sql_log.matching("UPDATE")] == [
            "dmj_employee", "dmj_manager"]
        assert (loaded.name, loaded.manager_name) == ("scheeks", "Sandy Cheeks, President")
        sql_log.clear()
        s.execute(update(Manager), [{"id": 2, "manager_name": "only the sub table"}])
        assert [st.split()[1] for st in sql_log.matching("UPDATE")] == ["dmj_manager"]
        with pytest.raises(InvalidRequestError, match="no value for primary key"):
            s.execute(update(Manager), [{"name": "no key"}])
        s.commit()
    assert _rows(read_rows, Employee)[:2] == [(1, "scheeks", "manager"),
                                             (2, "eugene", "manager")]
    assert _rows(read_rows, Manager) == [(1, "Sandy Cheeks, President"),
                                        (2, "only the sub table")]


def test_update_values_of_the_subclass_table_update_that_table(models, engine, read_rows,
                                                               sql_log):
    Employee, Manager, Engineer = models
    _seed(engine, Manager, Engineer)
    with Session(engine) as s:
        m = s.get(Manager, 1)
        sql_log.clear()
        s.execute(update(Manager).where(Manager.id == 1).values(manager_name="President"))
        (stmt,) = sql_log.matching("UPDATE")
        assert stmt.split()[1] == "dmj_manager" and "dmj_employee" not in stmt
        assert m.manager_name == "President"
        # criteria on the base table's columns
        s.execute(update(Manager).where(Manager.name == "krabs").values(manager_name="VP"))
        s.execute(update(Manager).where(
            Manager.id == select(Employee.id).where(Employee.name == "sandy").scalar_subquery()
        ).values(manager_name="Sandy again"))
        s.commit()
    assert _rows(read_rows, Manager) == [(1, "Sandy again"), (2, "VP")]


def test_update_values_of_the_base_table_touch_only_rows_of_the_class(models, engine,
                                                                      read_rows):
    Employee, Manager, Engineer = models
    _seed(engine, Manager, Engineer)
    with Session(engine) as s:
        s.execute(update(Manager).values(name="a manager"),
                  execution_options={"synchronize_session": "fetch"})
        s.execute(update(Manager).where(Manager.manager_name == "Krabs").values(name="K"))
        s.commit()
    assert _rows(read_rows, Employee) == [(1, "a manager", "manager"), (2, "K", "manager"),
                                         (3, "bob", "engineer")]


def test_update_of_columns_of_two_tables_in_one_statement_is_refused(models, engine, sql_log):
    _emp, Manager, Engineer = models
    _seed(engine, Manager, Engineer)
    with Session(engine) as s:
        sql_log.clear()
        with pytest.raises(InvalidRequestError, match="several of its tables"):
            s.execute(update(Manager).values(name="x", manager_name="y"))
        assert sql_log.matching("UPDATE") == []


def test_delete_of_the_subclass_deletes_from_its_own_table(models, engine, read_rows,
                                                           sql_log):
    Employee, Manager, Engineer = models
    _seed(engine, Manager, Engineer)
    with Session(engine) as s:
        sql_log.clear()
        s.execute(delete(Manager).where(Manager.id == 1))
        (stmt,) = sql_log.matching("DELETE")
        assert stmt.split()[2] == "dmj_manager" and "dmj_employee" not in stmt
        s.execute(delete(Employee).where(Employee.id == 1))
        s.execute(delete(Manager).where(Manager.name == "krabs"))
        s.commit()
    assert _rows(read_rows, Manager) == []
    assert [r[0] for r in _rows(read_rows, Employee)] == [2, 3]


def test_inserts_of_the_base_and_single_table_classes_write_their_discriminator(
        metadata, engine, read_rows):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Shape(Base):
        __tablename__ = "dmj_shapes"
        id: Mapped[int] = mapped_column(primary_key=True)
        kind: Mapped[str] = mapped_column(String(10))  # NOT NULL
        size: Mapped[int | None]
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "shape"}

    class Circle(Shape):  # single-table
        __mapper_args__ = {"polymorphic_identity": "circle"}

    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(Shape), [{"id": 1, "size": 1}, {"id": 2, "size": 2}])
        s.execute(insert(Circle), {"id": 3, "size": 3})
        made = s.scalars(insert(Circle).returning(Circle), [{"id": 4}, {"id": 5}]).all()
        assert [type(c) for c in made] == [Circle, Circle]
        s.bulk_insert_mappings(Circle, [{"id": 6}])
        s.execute(insert(Shape), [{"id": 7, "kind": "circle"}])  # given: kept
        s.commit()
        assert [type(x).__name__ for x in s.scalars(select(Shape).order_by(Shape.id))] == [
            "Shape", "Shape", "Circle", "Circle", "Circle", "Circle", "Circle"]
    assert [r[1] for r in sorted(read_rows(Shape.__table__))] == [
        "shape", "shape", "circle", "circle", "circle", "circle", "circle"]


def test_bulk_mappings_of_a_joined_subclass_write_every_table(models, engine, read_rows):
    Employee, Manager, _e = models
    with Session(engine) as s:
        rows = [{"name": "a", "manager_name": "A"}, {"name": "b", "manager_name": "B"}]
        s.bulk_insert_mappings(Manager, rows, return_defaults=True)
        assert [r["id"] for r in rows] == [1, 2]
        s.bulk_update_mappings(Manager, [{"id": 2, "name": "bb", "manager_name": "BB"}])
        s.commit()
    assert _rows(read_rows, Employee) == [(1, "a", "manager"), (2, "bb", "manager")]
    assert _rows(read_rows, Manager) == [(1, "A"), (2, "BB")]


def _upsert(engine, cls):
    """The backend's upsert construct on ``cls`` (None where it has none)."""
    name = engine.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as upsert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.mysql import insert as upsert
    stmt = upsert(cls)
    if name == "mysql":
        return stmt.on_duplicate_key_update(manager_name=stmt.inserted.manager_name)
    return stmt.on_conflict_do_update(index_elements=[cls.id],
                                      set_={"manager_name": stmt.excluded.manager_name})


@pytest.mark.parametrize("form", ["dicts", "dict", "values"])
def test_upsert_of_a_joined_subclass_is_refused_before_any_sql(models, engine, read_rows,
                                                                sql_log, form):
    # the ON CONFLICT clause can't be carried over to the rows spread over two tables:
    # dropping it would turn the upsert into a plain INSERT
    _e, Manager, Engineer = models
    _seed(engine, Manager, Engineer)
    before = _rows(read_rows, Manager)
    row = {"id": 1, "type": "manager", "name": "sandy", "manager_name": "Sandy 2"}
    stmt = _upsert(engine, Manager)
    sql_log.clear()
    with Session(engine) as s, pytest.raises(InvalidRequestError, match="upsert .* Manager"):
        if form == "values":
            s.execute(stmt.values([row]))
        else:
            s.execute(stmt, [row, {**row, "id": 99}] if form == "dicts" else row)
    assert sql_log.matching("INSERT") == []
    assert _rows(read_rows, Manager) == before


def test_insert_values_of_a_joined_subclass_without_parameters_is_refused(models, engine,
                                                                          read_rows):
    _e, Manager, _g = models
    with Session(engine) as s, pytest.raises(InvalidRequestError, match="several tables"):
        s.execute(insert(Manager).values([{"name": "x", "manager_name": "X"}]))
    assert read_rows(Manager.__table__) == []


@pytest.mark.parametrize("many", [True, False])
def test_insert_values_of_a_joined_subclass_go_to_their_columns_tables(models, engine,
                                                                      read_rows, many):
    from sqlalchemy import func

    _e, Manager, _g = models
    stmt = insert(Manager).values(name=func.lower("SANDY"),
                                  manager_name=func.upper("boss"))
    rows = [{"name": "ignored"}, {}] if many else {}
    with Session(engine) as s:
        s.execute(stmt, rows)
        s.commit()
    n = 2 if many else 1
    assert read_rows("SELECT name, type FROM dmj_employee") == [("sandy", "manager")] * n
    assert read_rows("SELECT manager_name FROM dmj_manager") == [("BOSS",)] * n


def test_insert_values_only_returning_the_object(models, engine):
    from sqlalchemy import func

    _e, Manager, _g = models
    with Session(engine) as s:
        m = s.scalars(insert(Manager).values(name="krabs", manager_name=func.upper("k"))
                      .returning(Manager)).one()
        assert (m.name, m.manager_name, m.type) == ("krabs", "K", "manager")


def test_insert_values_naming_no_column_of_the_class_is_refused(models, engine, sql_log):
    _e, Manager, _g = models
    sql_log.clear()
    with Session(engine) as s, pytest.raises(InvalidRequestError, match="'info'"):
        s.execute(insert(Manager).values(info="x"), [{"name": "a", "manager_name": "A"}])
    assert sql_log.matching("INSERT") == []
