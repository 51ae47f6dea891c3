"""A hierarchy whose ``polymorphic_on`` is an SQL expression (a CASE over a column):
the loader reads the expression after the entity's columns; datamapper's select() of
the base class, its subquery's columns and Query all work with it.  (Every select()
of such a class failed with "zip() argument 2 is longer than argument 1" when its
exported columns were keyed by attribute name.)"""

from sqlalchemy import Column, Integer, String, case

from datamapper import select


def test_select_of_class_with_discriminator_expression(Base, engine, make_session):
    class A(Base):
        __tablename__ = "dx_a"
        id = Column(Integer, primary_key=True)
        kind = Column(String(10))
        __mapper_args__ = {"polymorphic_on": case((kind == "b", "b"), else_="a"),
                           "polymorphic_identity": "a"}

    class B(A):
        __mapper_args__ = {"polymorphic_identity": "b"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([A(id=1, kind="a"), B(id=2, kind="b"), A(id=3, kind="x")])
    s.commit()
    s.close()
    assert [type(o).__name__ for o in s.scalars(select(A).order_by(A.id))] == ["A", "B", "A"]
    assert [type(o).__name__ for o in s.query(A).order_by(A.id)] == ["A", "B", "A"]
    assert list(select(A).subquery().c.keys())[:2] == ["id", "kind"]
    sub = select(A).where(A.kind != "x").subquery()
    assert s.execute(select(sub.c.id).order_by(sub.c.id)).scalars().all() == [1, 2]
