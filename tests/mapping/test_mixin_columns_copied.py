"""Columns declared on a mixin: each class using the mixin gets its own copy, with
the mixin's foreign keys; the mixin's Column itself is never attached to a table."""

import pytest


@pytest.mark.parametrize("fk", ["name", "column", "attribute"])
def test_mixin_column_with_a_foreign_key_gives_each_class_its_own(Base, engine, fk):
    """A Column with a ForeignKey declared on a mixin: every class using the mixin
    gets a copy that still refers to the target (the second class's copy lost it)."""
    from sqlalchemy import Column, ForeignKey, Integer

    class Bar(Base):
        __tablename__ = "mx_bar"
        id = Column(Integer, primary_key=True)

    target = {"name": "mx_bar.id", "column": Bar.__table__.c.id, "attribute": Bar.id}[fk]

    class HasBar:
        bar_id = Column(Integer, ForeignKey(target))

    class A(HasBar, Base):
        __tablename__ = "mx_a"
        id = Column(Integer, primary_key=True)

    class B(HasBar, Base):
        __tablename__ = "mx_b"
        id = Column(Integer, primary_key=True)

    for cls in (A, B):
        assert cls.__table__.c.bar_id.references(Bar.__table__.c.id)
    assert HasBar.__dict__["bar_id"].table is None  # the mixin's own stays unattached
    Base.metadata.create_all(engine)
