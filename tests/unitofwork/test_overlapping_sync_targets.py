"""Two relationships that write the same foreign key column at flush, without being
each other's reverse, get a warning at configure time (``overlaps=`` silences it):
whichever of them the flush processes last decides the column's value."""

import warnings

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table, and_, select

from datamapper import Session, configure_mappers, exc, relationship


def _overlap_warnings(record):
    return [str(w.message) for w in record
            if issubclass(w.category, exc.SAWarning) and "will copy column" in str(w.message)]


def test_two_unlinked_relationships_over_one_fk_warn(Base):
    class Parent(Base):
        __tablename__ = "parent"
        id = Column(Integer, primary_key=True)
        children = relationship("Child")

    class Child(Base):
        __tablename__ = "child"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("parent.id"), nullable=False)
        parent = relationship("Parent")

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        configure_mappers()
    msgs = _overlap_warnings(record)
    assert len(msgs) == 1, msgs
    # the later-configured one (mappers in name order: Child, then Parent) names both
    assert msgs[0].startswith(
        "relationship 'Parent.children' will copy column parent.id to column "
        "child.parent_id, which conflicts with relationship(s): 'Child.parent' "
        "(copies parent.id to child.parent_id)")
    assert "overlaps=\"parent\"" in msgs[0] and "back_populates" in msgs[0]


@pytest.mark.parametrize("link", ["back_populates", "backref", "overlaps", "viewonly"])
def test_linked_or_silenced_relationships_do_not_warn(Base, link):
    kw_p, kw_c = {}, {}
    if link == "back_populates":
        kw_p, kw_c = {"back_populates": "parent"}, {"back_populates": "children"}
    elif link == "backref":
        kw_p = {"backref": "parent"}
    elif link == "overlaps":
        kw_p, kw_c = {"overlaps": "foo, parent"}, {"overlaps": "children"}
    else:
        kw_c = {"viewonly": True}

    class Parent(Base):
        __tablename__ = "parent"
        id = Column(Integer, primary_key=True)
        children = relationship("Child", **kw_p)

    class Child(Base):
        __tablename__ = "child"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("parent.id"), nullable=False)
        if link != "backref":
            parent = relationship("Parent", **kw_c)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        configure_mappers()
    assert _overlap_warnings(record) == []


def test_sibling_filtered_collections_warn(Base):
    class Child(Base):
        __tablename__ = "child"
        id = Column(Integer, primary_key=True)
        num = Column(Integer)
        parent_id = Column(ForeignKey("parent.id"), nullable=False)

    class Parent(Base):
        __tablename__ = "parent"
        id = Column(Integer, primary_key=True)
        ones = relationship(Child, primaryjoin=lambda: and_(Child.parent_id == Parent.id,
                                                            Child.num == 1))
        twos = relationship(Child, primaryjoin=lambda: and_(Child.parent_id == Parent.id,
                                                            Child.num == 2))

    with pytest.warns(exc.SAWarning, match=r"relationship 'Parent.twos' will copy column "
                      r"parent.id to column child.parent_id, which conflicts with "
                      r"relationship\(s\): 'Parent.ones'"):
        configure_mappers()


def test_association_table_mapped_and_used_as_secondary_warns(Base, engine):
    """The rows of ``b`` are written by ``A.cs`` (as the secondary) and by the B
    object itself; the flush still writes what was asked (the warning is advice)."""

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        cs = relationship("C", secondary="b", backref="as_")
        bs = relationship("B", back_populates="a")

    class B(Base):
        __tablename__ = "b"
        a_id = Column(ForeignKey("a.id"), primary_key=True)
        c_id = Column(ForeignKey("c.id"), primary_key=True)
        a = relationship("A", back_populates="bs")

    class C(Base):
        __tablename__ = "c"
        id = Column(Integer, primary_key=True)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        configure_mappers()
    msgs = _overlap_warnings(record)
    assert len(msgs) == 2, msgs
    assert any(m.startswith("relationship 'A.bs' will copy column a.id to column b.a_id, "
                            "which conflicts with relationship(s): 'A.cs' (copies a.id to "
                            "b.a_id), 'C.as_' (copies a.id to b.a_id)") for m in msgs)
    assert all("overlaps=\"as_,cs\"" in m for m in msgs)

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        a = A(id=1, cs=[C(id=5)])
        s.add(a)
        s.commit()
        assert s.execute(select(Table("b", Base.metadata).c.a_id)).all() == [(1,)]


def test_relationships_of_one_inheritance_hierarchy_that_never_meet_do_not_warn(Base):
    """Sibling subclasses' relationships never apply to the same row, and a
    subclass's relationship of the same name overrides its superclass's."""
    from sqlalchemy import String

    class A(Base):
        __tablename__ = "inh_a"
        id = Column(Integer, primary_key=True)

    class B(Base):
        __tablename__ = "inh_b"
        id = Column(Integer, primary_key=True)
        type = Column(String(20))
        a_id = Column(ForeignKey("inh_a.id"))
        a = relationship("A")
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "b"}

    class BSub1(B):
        a = relationship("A")  # overrides B.a
        __mapper_args__ = {"polymorphic_identity": "bsub1"}

    class BSub2(B):
        __mapper_args__ = {"polymorphic_identity": "bsub2"}

    class BSub3(B):
        __mapper_args__ = {"polymorphic_identity": "bsub3"}

    BSub2.__mapper__.add_property("other_a", relationship(A))
    BSub3.__mapper__.add_property("another_a", relationship(A))

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        configure_mappers()
    msgs = _overlap_warnings(record)
    # only BSub2/BSub3's extra relationships meet B.a on their own rows
    assert all("'B.a'" in m or "B.a " in m for m in msgs), msgs
    assert not any("BSub1.a" in m for m in msgs), msgs
    assert not any("BSub2.other_a" in m and "BSub3.another_a" in m for m in msgs), msgs
