"""One property object assigned to two names of a class body (``b = a``): a warning,
and the later name alone maps it (a property keeps its values under one key)."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer
from sqlalchemy.exc import SAWarning

from datamapper import configure_mappers, relationship


def test_relationship_under_two_names_is_mapped_under_the_later(Base, engine, make_session,
                                                                read_rows):
    class B(Base):
        __tablename__ = "tn_b"
        id = Column(Integer, primary_key=True)

    with pytest.warns(SAWarning, match="de-associated from 'parent'"):
        class A(Base):
            __tablename__ = "tn_a"
            id = Column(Integer, primary_key=True)
            b_id = Column(ForeignKey("tn_b.id"))
            parent = relationship(B)
            other = parent

        configure_mappers()
    assert "parent" not in A.__mapper__.attrs and "other" in A.__mapper__.attrs
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(A(id=1, other=B(id=7)))
    s.commit()
    assert read_rows(A.__table__) == [(1, 7)]
    s.close()
    s = make_session()
    assert s.get(A, 1).other.id == 7
