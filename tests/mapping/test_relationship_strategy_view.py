"""``relationship.property.strategy``: ``use_get`` (the lazy load is a lookup by the
target's primary key) and ``_lazywhere`` (the lazy criterion with the parent's
columns as anonymous parameters), as programs inspecting SQLAlchemy's loader
strategy read them."""

from sqlalchemy import Column, ForeignKey, Integer, Table

from datamapper import relationship


def test_use_get_and_lazywhere(Base):
    assoc = Table("sv_assoc", Base.metadata,
                  Column("a_id", ForeignKey("sv_a.id"), primary_key=True),
                  Column("c_id", ForeignKey("sv_c.id"), primary_key=True))

    class A(Base):
        __tablename__ = "sv_a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", back_populates="a")
        extra = relationship("Extra", uselist=False)  # its key is the foreign key
        cs = relationship("C", secondary=assoc)

    class B(Base):
        __tablename__ = "sv_b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("sv_a.id"))
        a = relationship(A, back_populates="bs")

    class Extra(Base):
        __tablename__ = "sv_extra"
        id = Column(ForeignKey("sv_a.id"), primary_key=True)

    class C(Base):
        __tablename__ = "sv_c"
        id = Column(Integer, primary_key=True)

    assert B.a.property.strategy.use_get
    assert A.extra.property.strategy.use_get
    assert not A.bs.property.strategy.use_get
    assert not A.cs.property.strategy.use_get
    assert str(A.bs.property.strategy._lazywhere) == ":param_1 = sv_b.a_id"
    assert str(B.a.property.strategy._lazywhere) == "sv_a.id = :param_1"
    assert str(A.cs.property.strategy._lazywhere) == \
        ":param_1 = sv_assoc.a_id AND sv_c.id = sv_assoc.c_id"
