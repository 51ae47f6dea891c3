"""Synonyms declared in a declarative class body: ``synonym_for()`` over a getter or
a ``property``, and ``synonym(..., comparator_factory=...)`` whose comparator gives
the SQL of the synonym's comparisons."""

from sqlalchemy import Column, Integer, String

from datamapper import ColumnProperty, synonym, synonym_for


def test_synonym_for_over_a_property_reads_through_the_getter(Base, engine, make_session,
                                                             sql_log):
    class User(Base):
        __tablename__ = "sf_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

        @synonym_for("name")
        @property
        def namesyn(self):
            return self.name

    Base.metadata.create_all(engine)
    s = make_session()
    u = User(name="someuser")
    assert u.namesyn == "someuser"
    s.add(u)
    s.commit()
    s.close()
    s = make_session()
    sql_log.clear()
    found = s.query(User).filter(User.namesyn == "someuser").one()
    assert found.namesyn == "someuser"
    assert "sf_users.name = " in sql_log.statements[0]


def test_synonym_for_over_a_plain_getter_reads_through_it(Base):
    class User(Base):
        __tablename__ = "sf_users2"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

        @synonym_for("name")
        def upper(self):
            return self.name.upper()

    assert User(name="ed").upper == "ED"


def test_synonym_comparator_factory_gives_the_sql_of_comparisons(Base, engine, make_session,
                                                                 sql_log):
    class AppendFoo(ColumnProperty.Comparator):
        __hash__ = None

        def __eq__(self, other):
            return self.__clause_element__() == other + " FOO"

    class User(Base):
        __tablename__ = "sf_users3"
        id = Column(Integer, primary_key=True)
        _name = Column("name", String(50))
        name = synonym("_name", comparator_factory=AppendFoo)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([User(id=1, name="someuser FOO"), User(id=2, name="someuser")])
    s.commit()
    s.close()
    s = make_session()
    sql_log.clear()
    assert [u.id for u in s.query(User).filter(User.name == "someuser")] == [1]
    assert sql_log.count == 1
