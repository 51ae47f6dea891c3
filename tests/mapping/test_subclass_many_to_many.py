"""A many-to-many relationship declared on a joined-inheritance subclass whose
association table refers to the superclass's table: the join is derived from the
superclass table, rows are written and loaded through it."""

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import configure_mappers, relationship


def test_subclass_many_to_many_through_superclass_key(Base, engine, make_session, read_rows):
    a_b = Table("smm_a_b", Base.metadata,
                Column("a_id", ForeignKey("smm_a.id"), primary_key=True),
                Column("b_id", ForeignKey("smm_b.id"), primary_key=True))

    class A(Base):
        __tablename__ = "smm_a"
        id = Column(Integer, primary_key=True)
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "a"}

    class AChild(A):
        __tablename__ = "smm_a_child"
        id = Column(ForeignKey("smm_a.id"), primary_key=True)
        bs = relationship("B", secondary=a_b, order_by="B.id")
        __mapper_args__ = {"polymorphic_identity": "child"}

    class B(Base):
        __tablename__ = "smm_b"
        id = Column(Integer, primary_key=True)

    configure_mappers()
    assert str(AChild.bs.property.primaryjoin) == "smm_a.id = smm_a_b.a_id"
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(AChild(id=1, bs=[B(id=10), B(id=20)]))
    s.commit()
    assert read_rows("SELECT a_id, b_id FROM smm_a_b ORDER BY b_id") == [(1, 10), (1, 20)]
    s.close()
    s = make_session()
    assert [b.id for b in s.get(AChild, 1).bs] == [10, 20]
