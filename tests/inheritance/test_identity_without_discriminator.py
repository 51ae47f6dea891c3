"""``polymorphic_identity`` of a base or joined-table class in a hierarchy that has no
``polymorphic_on`` (a mixin's ``__mapper_args__`` giving every class one): accepted and
kept on the mapper, as in SQLAlchemy; rows are written and read, the base class's query
gives base objects.  (A single-table subclass's is refused: tests/inheritance/
test_single_table.py.)"""

from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import declared_attr


def test_identity_without_discriminator_is_accepted(Base, engine, make_session, read_rows):
    class Named:
        @declared_attr
        def __mapper_args__(cls):
            return {"polymorphic_identity": cls.__name__}

    class Model(Named, Base):
        __tablename__ = "nd_model"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Sub(Model):
        __tablename__ = "nd_sub"
        id = Column(Integer, ForeignKey("nd_model.id"), primary_key=True)
        extra = Column(String(20))

    assert (Model.__mapper__.polymorphic_identity, Sub.__mapper__.polymorphic_identity) == \
        ("Model", "Sub")
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Model(id=1, name="m"), Sub(id=2, name="s", extra="x")])
    s.commit()
    assert read_rows(Model.__table__) == [(1, "m"), (2, "s")]
    assert read_rows(Sub.__table__) == [(2, "x")]
    s.close()
    s = make_session()
    assert s.get(Sub, 2).extra == "x"
    assert [m.name for m in s.query(Model).order_by(Model.id)] == ["m", "s"]
