"""foreign() and remote() in a primaryjoin mark the referring columns and the related
row's columns, as foreign_keys= and remote_side= do: tables with no ForeignKey,
self-referential relationships, and the string form of primaryjoin."""

import pytest
from sqlalchemy import Column, Integer, String, select

from datamapper import clear_mappers, configure_mappers, exc, foreign, relationship, remote


@pytest.fixture
def no_fk_models(Base, engine):
    class User(Base):
        __tablename__ = "fr_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        orders = relationship("Order", primaryjoin=lambda: User.id == foreign(Order.user_id),
                              backref="user", order_by="Order.id")

    class Order(Base):
        __tablename__ = "fr_orders"
        id = Column(Integer, primary_key=True)
        user_id = Column(Integer)  # no ForeignKey: the join says which side refers

    Base.metadata.create_all(engine)
    configure_mappers()
    return User, Order


def test_one_to_many_marked_foreign_writes_the_key(no_fk_models, session):
    User, Order = no_fk_models
    assert User.orders.property.direction == "ONETOMANY"
    assert Order.user.property.direction == "MANYTOONE"
    u = User(id=1, name="u", orders=[Order(id=10), Order(id=11)])
    session.add(u)
    session.commit()
    rows = session.execute(select(Order.__table__.c.id, Order.__table__.c.user_id)
                           .order_by(Order.__table__.c.id)).all()
    assert rows == [(10, 1), (11, 1)]
    session.expunge_all()
    assert [o.id for o in session.get(User, 1).orders] == [10, 11]
    assert session.get(Order, 11).user.name == "u"


def test_many_to_one_marked_foreign_writes_the_key(no_fk_models, session):
    User, Order = no_fk_models
    o = Order(id=5, user=User(id=2, name="v"))
    session.add(o)
    session.commit()
    assert session.execute(select(Order.__table__.c.user_id)).scalar_one() == 2


@pytest.fixture
def tree(Base, engine):
    class Node(Base):
        __tablename__ = "fr_nodes"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer)
        parent = relationship("Node", primaryjoin="remote(Node.id) == foreign(Node.parent_id)",
                              backref="children")

    Base.metadata.create_all(engine)
    configure_mappers()
    return Node


def test_self_referential_remote_mark_makes_many_to_one(tree, session):
    Node = tree
    assert Node.parent.property.direction == "MANYTOONE"
    assert Node.children.property.direction == "ONETOMANY"
    root = Node(id=1)
    Node(id=2, parent=root)
    Node(id=3, parent=root)
    session.add(root)
    session.commit()
    t = Node.__table__
    assert session.execute(select(t.c.id, t.c.parent_id).order_by(t.c.id)).all() == [
        (1, None), (2, 1), (3, 1)]
    session.expunge_all()
    assert sorted(n.id for n in session.get(Node, 1).children) == [2, 3]


def test_marks_leave_the_original_columns_unchanged(no_fk_models):
    User, Order = no_fk_models
    marked = foreign(Order.__table__.c.user_id)
    assert marked is not Order.__table__.c.user_id
    assert not Order.__table__.c.user_id._annotations
    assert remote(marked)._annotations == {"foreign": True, "remote": True}


def test_marking_a_non_expression_is_refused():
    with pytest.raises(exc.ArgumentError, match="foreign\\(\\) takes a column"):
        foreign(42)


def test_foreign_around_a_function_of_the_column(Base, engine, make_session, sql_log):
    """t1.id == foreign(func.lower(t2.t1id)): the column inside the function is the
    referring one (a one-to-many); loading compares through the function, and the
    flush copies the key into the column."""
    from sqlalchemy import func

    from datamapper import ONETOMANY, joinedload

    class T2(Base):
        __tablename__ = "ff_t2"
        id = Column(Integer, primary_key=True)
        t1id = Column(String(20))

    class T1(Base):
        __tablename__ = "ff_t1"
        id = Column(String(20), primary_key=True)
        t2s = relationship(T2, primaryjoin=lambda: T1.id == foreign(func.lower(T2.t1id)),
                           order_by=T2.id)

    Base.metadata.create_all(engine)
    configure_mappers()
    prop = T1.t2s.property
    assert prop.direction is ONETOMANY
    assert prop.local_remote_pairs == [(T1.__table__.c.id, T2.__table__.c.t1id)]
    s = make_session()
    s.add_all([T1(id="n1"), T2(id=1, t1id="N1"), T2(id=2, t1id="n1"), T2(id=3, t1id="x")])
    s.commit()
    s.close()
    sql_log.clear()
    assert [t.id for t in s.get(T1, "n1").t2s] == [1, 2]
    assert "lower(ff_t2.t1id)" in sql_log.statements[-1]
    s.close()
    t1 = s.scalars(select(T1).options(joinedload(T1.t2s))).unique().one()
    assert [t.id for t in t1.t2s] == [1, 2]
    t1.t2s.append(T2(id=4))
    s.commit()
    assert s.get(T2, 4).t1id == "n1"


@pytest.fixture
def paths(Base, engine, make_session):
    """Materialized paths: one column on both sides of the join conditions."""
    from sqlalchemy import func

    class Entity(Base):
        __tablename__ = "fr_entity"
        path = Column(String(100), primary_key=True)
        descendants = relationship(
            "Entity", viewonly=True, order_by=lambda: Entity.path,
            primaryjoin=lambda: remote(foreign(Entity.path)).like(
                Entity.path.concat("/%")))
        ancestors = relationship(
            "Entity", viewonly=True, order_by=lambda: Entity.path,
            primaryjoin=lambda: Entity.path.like(
                remote(foreign(Entity.path)).concat("/%")))
        below = relationship(  # a SQL function around both occurrences
            "Entity", viewonly=True, order_by=lambda: Entity.path,
            primaryjoin=lambda: func.instr(remote(foreign(Entity.path)),
                                           Entity.path + "/").as_comparison(1, 2) == 1)

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Entity(path=p) for p in ("/foo", "/foo/bar1", "/foo/bar2", "/foo/bar2/bat1",
                                        "/bar", "/bar/bat1")])
    s.commit()
    s.close()
    return Entity


DESC = ["/foo/bar1", "/foo/bar2", "/foo/bar2/bat1"]


def test_one_column_on_both_sides_lazy_loads(paths, session, sql_log):
    from datamapper import ONETOMANY

    Entity = paths
    assert Entity.descendants.property.direction is ONETOMANY
    e = session.get(Entity, "/foo")
    sql_log.clear()
    assert [d.path for d in e.descendants] == DESC
    # the related row's path LIKE the parent's value || '/%' (|| or concat())
    where = sql_log.statements[0].split("WHERE")[1]
    assert where.strip().startswith("fr_entity.path LIKE (")
    assert where.count("fr_entity.path") == 2  # the LIKE's left side and the ORDER BY
    assert [a.path for a in session.get(Entity, "/foo/bar2/bat1").ancestors] == [
        "/foo", "/foo/bar2"]


@pytest.mark.sqlite_only  # instr()
def test_one_column_inside_a_function_on_both_sides(paths, session):
    from datamapper import joinedload

    Entity = paths
    assert [d.path for d in session.get(Entity, "/foo").below] == DESC
    session.close()
    e = session.scalars(select(Entity).where(Entity.path == "/foo")
                        .options(joinedload(Entity.below))).unique().one()
    assert [d.path for d in e.below] == DESC


@pytest.mark.parametrize("option", ["joinedload", "selectinload", "subqueryload"])
def test_one_column_on_both_sides_eager_loads(paths, session, sql_log, option):
    import datamapper

    Entity = paths
    opt = getattr(datamapper, option)
    sql_log.clear()
    e = session.scalars(select(Entity).where(Entity.path == "/foo")
                        .options(opt(Entity.descendants))).unique().one()
    n = len(sql_log.statements)
    assert [d.path for d in e.descendants] == DESC
    assert len(sql_log.statements) == n  # nothing more loaded
    a = session.scalars(select(Entity).where(Entity.path == "/foo/bar2/bat1")
                        .options(opt(Entity.ancestors))).unique().one()
    assert [x.path for x in a.ancestors] == ["/foo", "/foo/bar2"]


def test_one_column_on_both_sides_joins(paths, session):
    from datamapper import aliased

    Entity = paths
    da = aliased(Entity)
    stmt = (select(Entity.path, da.path).join(Entity.descendants.of_type(da))
            .where(Entity.path == "/foo").order_by(da.path))
    assert "JOIN fr_entity AS fr_entity_1 ON fr_entity_1.path LIKE (fr_entity.path" in str(stmt)
    assert [r[1] for r in session.execute(stmt)] == DESC


def test_one_column_on_both_sides_is_refused_for_writing(Base):
    class Node(Base):
        __tablename__ = "fr_node"
        path = Column(String(100), primary_key=True)
        kids = relationship("Node", primaryjoin=lambda: remote(foreign(Node.path)).like(
            Node.path.concat("/%")))

    try:
        with pytest.raises(exc.ArgumentError, match="give viewonly=True"):
            configure_mappers()
    finally:
        clear_mappers()  # a mapping refused at configure time must not reach later tests
