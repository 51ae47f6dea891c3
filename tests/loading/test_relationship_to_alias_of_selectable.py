"""relationship(aliased(Child, selectable), primaryjoin=...): the related rows are those
of a subquery (a window function's "first N rows per parent"), of a join of the
target's table to others, or of the same table (self-referential); every loader
strategy, joins and comparisons read them from that selectable."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, and_, func, join, select

from datamapper import (
    aliased,
    clear_mappers,
    configure_mappers,
    exc,
    immediateload,
    joinedload,
    lazyload,
    relationship,
    selectinload,
    subqueryload,
    with_parent,
)

LOADERS = {
    "select": lazyload, "joined": joinedload, "selectin": selectinload,
    "subquery": subqueryload, "immediate": immediateload,
}


@pytest.fixture
def partitioned(Base, engine, make_session):
    """A.first_bs: the first two B rows of each A (by id), through row_number()."""
    class A(Base):
        __tablename__ = "acp_a"
        id = Column(Integer, primary_key=True)

    class B(Base):
        __tablename__ = "acp_b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("acp_a.id"))
        cs = relationship("C", order_by="C.id")

    class C(Base):
        __tablename__ = "acp_c"
        id = Column(Integer, primary_key=True)
        b_id = Column(ForeignKey("acp_b.id"))

    partition = select(
        B, func.row_number().over(order_by=B.id, partition_by=B.a_id).label("index")
    ).subquery()
    first_b = aliased(B, partition)
    A.first_bs = relationship(first_b, primaryjoin=and_(first_b.a_id == A.id,
                                                        partition.c.index <= 2),
                              order_by=first_b.id, viewonly=True)
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([A(id=1), A(id=2), A(id=3)])
    s.flush()
    s.add_all([B(id=a * 10 + i, a_id=a, cs=[C(id=a * 100 + i * 10 + k) for k in (1, 2)])
               for a in (1, 2) for i in range(4)])
    s.commit()
    s.close()
    return A, B, C, first_b


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_each_loader_reads_the_rows_of_the_window_function_subquery(
        partitioned, make_session, sql_log, loader):
    A, _B, _C, _fb = partitioned
    s = make_session()
    sql_log.clear()
    parents = s.scalars(select(A).order_by(A.id).options(LOADERS[loader](A.first_bs))
                        ).unique().all()
    got = {a.id: [b.id for b in a.first_bs] for a in parents}
    assert got == {1: [10, 11], 2: [20, 21], 3: []}
    expected_statements = {"select": 4, "immediate": 4, "joined": 1, "selectin": 2,
                           "subquery": 2}[loader]
    assert len(sql_log.statements) == expected_statements
    loads = sql_log.statements if loader == "joined" else sql_log.statements[1:]
    assert all("row_number()" in st.lower() for st in loads)


def test_loads_below_the_aliased_target(partitioned, make_session, sql_log):
    """selectinload(A.first_bs).joinedload(alias.cs): the nested join starts at the
    subquery's rows."""
    A, _B, _C, first_b = partitioned
    s = make_session()
    sql_log.clear()
    parents = s.scalars(select(A).order_by(A.id).options(
        selectinload(A.first_bs).joinedload(first_b.cs))).unique().all()
    assert {a.id: [[c.id for c in b.cs] for b in a.first_bs] for a in parents} == {
        1: [[101, 102], [111, 112]], 2: [[201, 202], [211, 212]], 3: []}
    assert len(sql_log.statements) == 2


def test_joins_along_it_read_the_subquery(partitioned, make_session):
    A, _B, _C, first_b = partitioned
    s = make_session()
    assert s.execute(select(A.id, first_b.id).join(A.first_bs).order_by(A.id, first_b.id)
                     ).all() == [(1, 10), (1, 11), (2, 20), (2, 21)]
    assert s.execute(select(A.id).join(A.first_bs).where(first_b.id == 12)).all() == []
    # the relationship's entity, selected beside the parent
    rows = s.query(A, A.first_bs.entity).join(A.first_bs).order_by(A.id, first_b.id).all()
    assert [(a.id, b.id) for a, b in rows] == [(1, 10), (1, 11), (2, 20), (2, 21)]
    assert [a.id for a in s.query(A).join(A.first_bs).filter(first_b.id == 21)] == [2]


def test_comparisons_read_the_subquery(partitioned, make_session):
    A, B, _C, first_b = partitioned
    s = make_session()
    b11, b12 = s.get(B, 11), s.get(B, 12)
    ids = lambda crit: s.scalars(select(A.id).where(crit).order_by(A.id)).all()  # noqa: E731
    assert ids(A.first_bs.any(first_b.id == 21)) == [2]
    assert ids(A.first_bs.any(B.id == 21)) == [2]
    assert ids(A.first_bs.any(B.id == 12)) == []  # third of its parent's rows
    assert ids(A.first_bs.contains(b11)) == [1]
    assert ids(A.first_bs.contains(b12)) == []
    assert ids(~A.first_bs.contains(b11)) == [2, 3]
    assert ids(A.first_bs == None) == [3]  # noqa: E711
    assert ids(A.first_bs != None) == [1, 2]  # noqa: E711
    a2 = s.get(A, 2)
    assert s.scalars(select(first_b.id).where(with_parent(a2, A.first_bs))
                     .order_by(first_b.id)).all() == [20, 21]


def test_partitioned_relationship_to_own_table(Base, engine, make_session):
    """Node.first_children: the first two children of each node; the subquery's
    columns are the related row's side of a self-referential condition."""
    class Node(Base):
        __tablename__ = "acp_node"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("acp_node.id"))

    part = select(Node, func.row_number().over(
        order_by=Node.id, partition_by=Node.parent_id).label("rn")).subquery()
    kid = aliased(Node, part)
    Node.first_children = relationship(kid, primaryjoin=and_(kid.parent_id == Node.id,
                                                             part.c.rn <= 2),
                                       order_by=kid.id, viewonly=True)
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Node(id=1), Node(id=2)])
    s.flush()
    s.add_all([Node(id=10 + i, parent_id=1) for i in range(4)]
              + [Node(id=20 + i, parent_id=2) for i in range(3)])
    s.commit()
    for opt in LOADERS.values():
        s.close()
        nodes = s.scalars(select(Node).where(Node.id < 3).order_by(Node.id)
                          .options(opt(Node.first_children))).unique().all()
        assert {n.id: [k.id for k in n.first_children] for n in nodes} == {
            1: [10, 11], 2: [20, 21]}, opt
    assert s.execute(select(Node.id, kid.id).join(Node.first_children)
                     .order_by(Node.id, kid.id)).all() == [(1, 10), (1, 11), (2, 20), (2, 21)]
    assert s.scalars(select(Node.id).where(Node.first_children.any(kid.id == 22))).all() == []


@pytest.fixture
def through_join(Base, engine, make_session):
    """A.b: the B that A.b_id refers to, only when a D row links it to a C row (the
    target is B over the join b JOIN d JOIN c)."""
    class A(Base):
        __tablename__ = "acj_a"
        id = Column(Integer, primary_key=True)
        b_id = Column(ForeignKey("acj_b.id"))

    class B(Base):
        __tablename__ = "acj_b"
        id = Column(Integer, primary_key=True)

    class C(Base):
        __tablename__ = "acj_c"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("acj_a.id"))

    class D(Base):
        __tablename__ = "acj_d"
        id = Column(Integer, primary_key=True)
        c_id = Column(ForeignKey("acj_c.id"))
        b_id = Column(ForeignKey("acj_b.id"))

    j = join(B, D, D.b_id == B.id).join(C, C.id == D.c_id)
    b_via_cd = aliased(B, j, flat=True)
    A.b = relationship(b_via_cd, primaryjoin=A.b_id == j.c.acj_b_id)
    Base.metadata.create_all(engine)
    s = make_session()
    for obj in [B(id=1), B(id=2), A(id=1, b_id=1), A(id=2, b_id=2), A(id=3), C(id=1, a_id=1),
                D(id=1, c_id=1, b_id=1)]:
        s.add(obj)
        s.flush()
    s.commit()
    s.close()
    return A, B, b_via_cd


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "targets_in_session"])
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_many_to_one_through_a_join_loads_only_joined_rows(through_join, make_session,
                                                            loader, warm):
    """A.b_id = 2 refers to a B no D row links: A(2).b is None with every loader,
    also when that B is in the identity map (no look-up by key alone)."""
    A, B, _alias = through_join
    s = make_session()
    if warm:
        assert len(s.scalars(select(B)).all()) == 2
    parents = s.scalars(select(A).order_by(A.id).options(LOADERS[loader](A.b))).unique().all()
    assert {a.id: (a.b.id if a.b is not None else None) for a in parents} == {
        1: 1, 2: None, 3: None}


def test_many_to_one_through_a_join_in_queries(through_join, make_session):
    A, B, b_via_cd = through_join
    s = make_session()
    b1, b2 = s.get(B, 1), s.get(B, 2)
    ids = lambda crit: s.scalars(select(A.id).where(crit).order_by(A.id)).all()  # noqa: E731
    assert s.scalars(select(A.id).join(A.b)).all() == [1]
    assert [a.id for a in s.query(A).join(A.b)] == [1]
    assert ids(A.b.has()) == [1]
    assert ids(A.b == b1) == [1]
    assert ids(A.b == b2) == []
    assert ids(A.b == None) == [2, 3]  # noqa: E711
    assert ids(A.b != b1) == [2, 3]
    assert s.scalars(select(b_via_cd.id).where(with_parent(s.get(A, 2), A.b))).all() == []


def test_writes_through_a_relationship_to_a_subquery_set_the_foreign_key(
        Base, engine, make_session, read_rows):
    """Not viewonly: appending to the collection writes the target's foreign key, as
    appending to relationship(Child) would."""
    class P(Base):
        __tablename__ = "acw_p"
        id = Column(Integer, primary_key=True)

    class K(Base):
        __tablename__ = "acw_k"
        id = Column(Integer, primary_key=True)
        p_id = Column(ForeignKey("acw_p.id"))

    part = select(K, func.row_number().over(order_by=K.id, partition_by=K.p_id)
                  .label("n")).subquery()
    first = aliased(K, part)
    P.first_ks = relationship(first, primaryjoin=and_(first.p_id == P.id, part.c.n <= 2))
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(P(id=1, first_ks=[K(id=1), K(id=2), K(id=3)]))
    s.commit()
    assert read_rows(K.__table__) == [(1, 1), (2, 1), (3, 1)]
    s.close()
    assert [k.id for k in s.get(P, 1).first_ks] == [1, 2]


def test_subquery_without_the_primary_key_is_refused(Base):
    class Child(Base):
        __tablename__ = "acr_child"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("acr_parent.id"))

    sub = aliased(Child, select(Child.__table__.c.parent_id).subquery())

    class Parent(Base):
        __tablename__ = "acr_parent"
        id = Column(Integer, primary_key=True)
        kids = relationship(sub, primaryjoin=lambda: sub.parent_id == Parent.id,
                            viewonly=True)

    try:
        with pytest.raises(exc.ArgumentError, match="does not select Child's primary key"):
            configure_mappers()
    finally:
        clear_mappers()


@pytest.mark.parametrize("lazy", ["dynamic", "write_only"])
def test_dynamic_and_write_only_to_a_subquery_are_refused(Base, lazy):
    class Child(Base):
        __tablename__ = f"acd_child_{lazy}"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey(f"acd_parent_{lazy}.id"))

    sub = aliased(Child, select(Child).where(Child.id > 5).subquery())

    class Parent(Base):
        __tablename__ = f"acd_parent_{lazy}"
        id = Column(Integer, primary_key=True)
        kids = relationship(sub, primaryjoin=lambda: sub.parent_id == Parent.id, lazy=lazy,
                            viewonly=True)

    try:
        with pytest.raises(exc.InvalidRequestError, match=f"lazy='{lazy}'"):
            configure_mappers()
    finally:
        clear_mappers()


def test_lateral_target_is_refused(Base):
    """A LATERAL subquery's rows depend on the parent row it correlates to; loading it
    without joining from the parent would read the wrong rows: refused for now."""
    class Parent(Base):
        __tablename__ = "acl_parent"
        id = Column(Integer, primary_key=True)

    class Child(Base):
        __tablename__ = "acl_child"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("acl_parent.id"))

    latest = aliased(Child, select(Child).where(Child.parent_id == Parent.id)
                     .order_by(Child.id.desc()).limit(1).correlate(Parent).subquery()
                     .lateral())
    try:
        with pytest.raises(exc.ArgumentError, match="LATERAL"):
            Parent.latest = relationship(latest, primaryjoin=latest.parent_id == Parent.id,
                                         uselist=False, viewonly=True)
            configure_mappers()
    finally:
        clear_mappers()
