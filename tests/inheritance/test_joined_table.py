"""Joined-table inheritance: a subclass table whose primary key refers to the base
table's; one object is one row in each table from the base down to its class."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import declarative_base, registry, relationship, select


def _models(with_polymorphic=None):
    Base = declarative_base()

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        kind = Column(String(20))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "person",
                           **({"with_polymorphic": with_polymorphic} if with_polymorphic
                              else {})}

    class Engineer(Person):
        __tablename__ = "engineers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        language = Column(String(20))
        machines = relationship("Machine", order_by="Machine.id")
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "managers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        budget = Column(Integer)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Machine(Base):
        __tablename__ = "machines"
        id = Column(Integer, primary_key=True)
        engineer_id = Column(ForeignKey("engineers.id"))
        label = Column(String(20))

    return Base, Person, Engineer, Manager, Machine


@pytest.fixture
def models(engine):
    Base, *classes = _models()
    Base.metadata.create_all(engine)
    return (Base.metadata.tables, *classes)


def _add_three(s, Person, Engineer, Manager):
    s.add_all([Person(name="p"), Engineer(name="e", language="py"),
               Manager(name="m", budget=5)])
    s.commit()


def test_insert_writes_base_row_then_subclass_row_with_its_key(models, make_session,
                                                              read_rows, sql_log):
    tables, Person, Engineer, Manager, _m = models
    s = make_session()
    _add_three(s, Person, Engineer, Manager)
    assert read_rows(tables["people"]) == [(1, "p", "person"), (2, "e", "engineer"),
                                          (3, "m", "manager")]
    assert read_rows(tables["engineers"]) == [(2, "py")]
    assert read_rows(tables["managers"]) == [(3, 5)]
    inserts = [st.split()[2] for st in sql_log.matching("INSERT")]
    assert inserts.index("engineers") > inserts.index("people")


def test_update_writes_only_tables_whose_columns_changed(models, make_session, read_rows,
                                                         sql_log):
    tables, Person, Engineer, Manager, _m = models
    s = make_session()
    _add_three(s, Person, Engineer, Manager)
    e = s.get(Engineer, 2)
    sql_log.clear()
    e.language = "c"
    s.flush()
    assert [st.split()[1] for st in sql_log.matching("UPDATE")] == ["engineers"]
    sql_log.clear()
    e.name = "ee"
    s.flush()
    assert [st.split()[1] for st in sql_log.matching("UPDATE")] == ["people"]
    s.commit()
    assert read_rows(tables["people"], id=2) == [(2, "ee", "engineer")]
    assert read_rows(tables["engineers"]) == [(2, "c")]


def test_delete_removes_subclass_row_before_base_row(models, make_session, read_rows,
                                                     sql_log):
    tables, Person, Engineer, Manager, _m = models
    s = make_session()
    _add_three(s, Person, Engineer, Manager)
    sql_log.clear()
    s.delete(s.get(Person, 3))
    s.commit()
    deletes = [st.split()[2] for st in sql_log.matching("DELETE")]
    assert deletes == ["managers", "people"]
    assert read_rows(tables["managers"]) == []
    assert [r[0] for r in read_rows(tables["people"])] == [1, 2]


def test_base_query_loads_subclass_columns_on_access(models, make_session, sql_log):
    _t, Person, Engineer, Manager, _m = models
    s = make_session()
    _add_three(s, Person, Engineer, Manager)
    s.close()
    sql_log.clear()
    people = s.query(Person).order_by(Person.id).all()
    assert [type(p) for p in people] == [Person, Engineer, Manager]
    assert sql_log.count == 1 and "engineers" not in sql_log.statements[0]
    assert people[2].budget == 5
    assert sql_log.count == 2 and "managers" in sql_log.statements[1]


def test_subclass_query_reads_the_join(models, make_session, sql_log):
    _t, Person, Engineer, Manager, _m = models
    s = make_session()
    _add_three(s, Person, Engineer, Manager)
    s.close()
    sql_log.clear()
    (e,) = s.scalars(select(Engineer).where(Engineer.language == "py")).all()
    assert (type(e), e.name, e.language) == (Engineer, "e", "py")
    assert sql_log.count == 1 and "JOIN engineers" in sql_log.statements[0]
    assert s.query(Manager).one().budget == 5
    assert s.get(Manager, 2) is None  # row 2 is an Engineer


def test_relationship_of_subclass(models, make_session, read_rows):
    tables, Person, Engineer, Manager, Machine = models
    s = make_session()
    s.add(Engineer(name="e", machines=[Machine(label="a"), Machine(label="b")]))
    s.commit()
    assert read_rows(tables["machines"]) == [(1, 1, "a"), (2, 1, "b")]
    s.close()
    assert [m.label for m in s.query(Person).one().machines] == ["a", "b"]


@pytest.mark.parametrize("spec", ["*", ("*", None), ["*", None], "join-tuple", "join-list"])
def test_with_polymorphic_star_selects_every_table(engine, make_session, sql_log, spec):
    """with_polymorphic='*', or ('*', selectable) as a tuple or a list (SQLAlchemy's
    examples write a list; it was refused: "'*' is not a mapped class")."""
    if isinstance(spec, str) and spec.startswith("join"):
        _b, P, E, M, _m = _models()
        j = P.__table__.outerjoin(E.__table__).outerjoin(M.__table__)
        spec = ("*", j) if spec == "join-tuple" else ["*", j]
    Base, Person, Engineer, Manager, _m = _models(with_polymorphic=spec)
    Base.metadata.create_all(engine)
    s = make_session()
    _add_three(s, Person, Engineer, Manager)
    s.close()
    sql_log.clear()
    people = s.query(Person).order_by(Person.id).all()
    assert [type(p) for p in people] == [Person, Engineer, Manager]
    assert (people[1].language, people[2].budget) == ("py", 5)
    assert sql_log.count == 1
    assert "LEFT OUTER JOIN engineers" in sql_log.statements[0]


def test_subclass_key_named_otherwise_is_copied_from_base(engine, make_session, read_rows):
    reg = registry()
    base = Table("items", reg.metadata, Column("item_id", Integer, primary_key=True),
                 Column("kind", String(10)))
    sub = Table("books", reg.metadata,
                Column("book_id", ForeignKey("items.item_id"), primary_key=True),
                Column("title", String(20)))

    class Item:
        pass

    class Book(Item):
        pass

    reg.map_imperatively(Item, base, polymorphic_on=base.c.kind, polymorphic_identity="i")
    reg.map_imperatively(Book, sub, inherits=Item, polymorphic_identity="b")
    reg.metadata.create_all(engine)
    s = make_session()
    s.add(Book(title="t"))
    s.commit()
    assert read_rows(base) == [(1, "b")]
    assert read_rows(sub) == [(1, "t")]
    s.close()
    b = s.query(Item).one()
    assert (type(b), b.title, b.book_id) == (Book, "t", 1)


def test_loader_options_on_a_subclass_query_take_superclass_attributes(models, make_session,
                                                                        sql_log):
    from datamapper import Load, defer

    _t, Person, Engineer, Manager, _m = models
    s = make_session()
    _add_three(s, Person, Engineer, Manager)
    s.close()
    sql_log.clear()
    (m,) = s.scalars(select(Manager).options(defer(Person.name))).all()
    assert "people.name" not in sql_log.statements[-1]
    assert "name" not in m.__dict__ and m.budget == 5
    assert m.name == "m"  # loaded on access
    s.close()
    sql_log.clear()
    (e,) = s.scalars(select(Engineer).options(
        Load(Engineer).load_only(Person.name, Engineer.language))).all()
    assert "people.name" in sql_log.statements[-1]
    assert (e.__dict__["name"], e.__dict__["language"]) == ("e", "py")


@pytest.mark.parametrize("flat", [False, True])
def test_aliased_subclass_reads_an_alias_of_the_whole_join(models, make_session, sql_log,
                                                           flat):
    from datamapper import aliased, load_only

    _t, Person, Engineer, Manager, _m = models
    s = make_session()
    _add_three(s, Person, Engineer, Manager)
    s.close()
    sql_log.clear()
    e1 = aliased(Engineer, flat=flat)
    (e,) = s.scalars(select(e1).where(e1.language == "py").order_by(e1.id)).all()
    assert (type(e), e.id, e.name, e.language) == (Engineer, 2, "e", "py")
    stmt = sql_log.statements[-1]
    assert sql_log.count == 1 and "JOIN engineers" in stmt
    assert ("people AS people_1" in stmt) == flat
    s.close()
    (e,) = s.query(e1).options(load_only(e1.language)).all()
    assert e.__dict__["language"] == "py" and "name" not in e.__dict__


def _company_models():
    Base = declarative_base()

    class Company(Base):
        __tablename__ = "companies"
        id = Column(Integer, primary_key=True)
        managers = relationship("Manager", viewonly=True, order_by="Manager.name")

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        company_id = Column(ForeignKey("companies.id"))
        name = Column(String(20))
        kind = Column(String(20))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "person"}

    class Manager(Person):
        __tablename__ = "managers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        budget = Column(Integer)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    return Base, Company, Person, Manager


@pytest.fixture
def company_models(engine, make_session):
    Base, Company, Person, Manager = _company_models()
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Company(id=1))
    s.add_all([Manager(id=5, company_id=1, name="b", budget=9),
               Manager(id=6, company_id=1, name="a", budget=3),
               Person(id=7, company_id=1, name="p")])
    s.commit()
    s.close()
    return Company, Manager


def test_contains_eager_of_a_relationship_to_a_joined_subclass(company_models, make_session):
    from datamapper import contains_eager

    Company, _m = company_models
    s = make_session()
    (c,) = s.scalars(select(Company).join(Company.managers)
                     .options(contains_eager(Company.managers))).unique().all()
    assert sorted((m.id, m.budget) for m in c.__dict__["managers"]) == [(5, 9), (6, 3)]


def test_joinedload_of_a_relationship_to_a_joined_subclass(company_models, make_session,
                                                           sql_log):
    from datamapper import joinedload

    Company, Manager = company_models
    s = make_session()
    sql_log.clear()
    (c,) = s.scalars(select(Company).options(joinedload(Company.managers))).unique().all()
    assert [(m.id, m.name, m.budget) for m in c.__dict__["managers"]] == [(6, "a", 3),
                                                                         (5, "b", 9)]
    assert sql_log.count == 1  # the person row 7 is no manager: not among them
    s.close()
    (c,) = s.scalars(select(Company).options(
        joinedload(Company.managers).load_only(Manager.budget))).unique().all()
    assert [m.__dict__["budget"] for m in c.__dict__["managers"]] == [3, 9]
    assert all("name" not in m.__dict__ for m in c.__dict__["managers"])


def test_joinedload_of_a_subclass_collection_under_a_limit(models, make_session):
    """The limited query becomes a subquery the eager join hangs off: it must carry the
    subclass table's key the join condition names (only the base's is an attribute)."""
    from datamapper import joinedload

    _t, Person, Engineer, Manager, Machine = models
    s = make_session()
    s.add_all([Engineer(name="e1", language="py", machines=[Machine(label="m1"),
                                                             Machine(label="m2")]),
               Manager(name="m", budget=1),
               Engineer(name="e2", language="c", machines=[Machine(label="m3")])])
    s.commit()
    s.close()
    stmt = select(Engineer).options(joinedload(Engineer.machines)).order_by(Engineer.id)
    got = s.scalars(stmt.limit(1)).unique().all()
    assert [(e.name, [m.label for m in e.__dict__["machines"]]) for e in got] == [
        ("e1", ["m1", "m2"])]
    s.close()
    got = s.query(Engineer).options(joinedload(Engineer.machines)).order_by(
        Engineer.id.desc()).distinct().offset(1).all()
    assert [(e.name, [m.label for m in e.__dict__["machines"]]) for e in got] == [
        ("e1", ["m1", "m2"])]
    s.close()
    e = s.query(Engineer).options(joinedload(Engineer.machines)).order_by(
        Engineer.id.desc()).first()
    assert (e.name, [m.label for m in e.__dict__["machines"]]) == ("e2", ["m3"])


@pytest.mark.parametrize("names", [None, ["language"]], ids=["all", "named"])
def test_refresh_of_a_subclass_object_reads_its_own_subclass_row(models, make_session,
                                                                  names, sql_log):
    tables, Person, Engineer, Manager, _m = models
    s = make_session()
    s.add_all([Engineer(name="e1", language="py"), Engineer(name="e2", language="c")])
    s.commit()
    s.close()
    s = make_session()
    e1 = s.get(Engineer, 1)
    p1 = s.get(Person, 1)  # the same object, reached through the base class
    assert p1 is e1
    sql_log.clear()
    s.refresh(e1, names)
    assert e1.language == "py"
    (stmt,) = sql_log.matching("SELECT")
    assert "JOIN engineers ON" in stmt  # the subclass row of this object, not any row
    # the row changes behind the objects' back: refresh reads the new value of this row
    s.connection().execute(tables["engineers"].update()
                           .where(tables["engineers"].c.id == 1).values(language="go"))
    s.refresh(p1, names)
    assert (e1.language, s.get(Engineer, 2).language) == ("go", "c")
