"""A mapped attribute of the class's own hierarchy given another name, in a
subclass body (``brap = A.data``) or assigned later (``A.brap = A.b``), is a
synonym: reading, writing, constructing and querying through the new name act on
the original attribute (a write through it used to be lost)."""

from sqlalchemy import Column, ForeignKey, Integer, String, select

from datamapper import SynonymProperty, inspect, relationship


def test_alias_of_a_column_and_a_relationship_reads_and_writes_the_original(
        Base, engine, make_session, read_rows):
    class A(Base):
        __tablename__ = "al_a"
        id = Column(Integer, primary_key=True)
        data = Column(String(20))
        b_id = Column(Integer, ForeignKey("al_b.id"))
        b = relationship("B")

    class B(Base):
        __tablename__ = "al_b"
        id = Column(Integer, primary_key=True)

    class ASub(A):
        alias_data = A.data  # in a subclass body

    A.other_b = A.b  # assigned to the mapped class
    A.label = A.data

    assert isinstance(inspect(A).attrs["other_b"], SynonymProperty)
    assert isinstance(inspect(ASub).attrs["alias_data"], SynonymProperty)
    Base.metadata.create_all(engine)
    s = make_session()
    b = B(id=1)
    a = A(id=1, label="x", other_b=b)
    sub = ASub(id=2, alias_data="q")
    s.add_all([a, sub])
    s.commit()
    assert a.data == "x" and a.b is b
    a.label = "y"
    sub.alias_data = "r"
    s.commit()
    assert read_rows(A.__table__) == [(1, "y", 1), (2, "r", None)]
    assert s.scalars(select(A.id).where(A.label == "y")).all() == [1]
    assert s.scalars(select(ASub.id).where(ASub.alias_data == "r")).all() == [2]
