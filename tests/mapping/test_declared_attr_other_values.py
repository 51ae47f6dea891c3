"""A mixin's ``declared_attr`` that gives something other than a column or mapper
property (an ``association_proxy``, a plain value) becomes an attribute of each
mapped class, computed once for it."""

from sqlalchemy import Column, ForeignKey, Integer, String, select

from datamapper import declared_attr, relationship
from datamapper.associationproxy import association_proxy


def test_declared_attr_association_proxy_over_a_declared_attr_relationship(
        Base, engine, make_session, read_rows):
    class Tag(Base):
        __tablename__ = "dv_tags"
        id = Column(Integer, primary_key=True)
        doc_id = Column(Integer, ForeignKey("dv_docs.id"))
        name = Column(String(20))

        def __init__(self, name):
            self.name = name

    class Tagged:
        @declared_attr
        def _tags(cls):
            return relationship(Tag, cascade="all, delete-orphan", order_by=Tag.id)

        @declared_attr
        def tags(cls):
            return association_proxy("_tags", "name")

    class Doc(Tagged, Base):
        __tablename__ = "dv_docs"
        id = Column(Integer, primary_key=True)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Doc(id=1, tags=["a", "b"]))
    s.commit()
    assert read_rows("SELECT doc_id, name FROM dv_tags ORDER BY id") == [(1, "a"), (1, "b")]
    s.close()
    s = make_session()
    assert list(s.get(Doc, 1).tags) == ["a", "b"]
    assert s.scalars(select(Doc.id).where(Doc.tags.contains("b"))).all() == [1]


def test_declared_attr_plain_value_is_set_on_each_class(Base):
    class Named:
        @declared_attr
        def label(cls):
            return cls.__name__ + " rows"

    class One(Named, Base):
        __tablename__ = "dv_one"
        id = Column(Integer, primary_key=True)

    class Two(Named, Base):
        __tablename__ = "dv_two"
        id = Column(Integer, primary_key=True)

    assert One.__dict__["label"] == "One rows"
    assert Two.label == "Two rows"
