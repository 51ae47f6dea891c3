"""``load_only()`` naming a column of a ``with_polymorphic()`` entity's subclass
(``wp.Manager.status``): the subclass column is read with the row through the
entity's alias, the others named nowhere load on access."""

from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, load_only, with_polymorphic


def test_load_only_names_a_subclass_column_of_the_entity(Base, engine, sql_log):
    class Person(Base):
        __tablename__ = "lw_people"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Engineer(Person):
        __tablename__ = "lw_engineers"
        id = Column(ForeignKey("lw_people.id"), primary_key=True)
        status = Column(String(20))  # the same name as Manager's: not the one meant
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    class Manager(Person):
        __tablename__ = "lw_managers"
        id = Column(ForeignKey("lw_people.id"), primary_key=True)
        status = Column(String(20))
        budget = Column(Integer)
        __mapper_args__ = {"polymorphic_identity": "manager"}

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Person(id=1, name="pat"), Manager(id=2, name="max", status="boss",
                                                     budget=5)])
        s.commit()
    with Session(engine) as s:
        wp = with_polymorphic(Person, [Manager], flat=True)
        sql_log.clear()
        rows = s.query(wp).options(load_only(wp.Manager.status)).order_by(wp.id).all()
        (sql,) = sql_log.matching("SELECT")
        assert "status" in sql and "budget" not in sql and ".name" not in sql
        assert [type(r).__name__ for r in rows] == ["Person", "Manager"]
        assert rows[1].status == "boss"
        assert sql_log.count == 1
        assert rows[1].budget == 5 and rows[1].name == "max"  # loaded on access
        assert sql_log.count > 1
