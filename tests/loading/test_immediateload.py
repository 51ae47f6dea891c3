"""immediateload() and lazy="immediate": the relationship is loaded right after its
parents load, with one SELECT per parent (none for a many-to-one already in the
identity map), for Query, select() and get(); many-to-many and self-referential too."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import Session, immediateload, joinedload, lazyload, relationship, select


@pytest.fixture
def m(Base, engine):
    tag_links = Table("tags_items", Base.metadata,
                 Column("item_id", ForeignKey("items.id"), primary_key=True),
                 Column("tag_id", ForeignKey("tags.id"), primary_key=True))

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        parent_id = Column(Integer, ForeignKey("items.id"))
        children = relationship("Item", order_by="Item.id")
        tags = relationship(Tag, secondary=tag_links, order_by=Tag.id)

    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        item_id = Column(Integer, ForeignKey("items.id"))
        item = relationship(Item, lazy="immediate")

    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(Tag.__table__.insert(), [{"id": 1, "name": "t1"}, {"id": 2, "name": "t2"}])
        c.execute(Item.__table__.insert(), [
            {"id": 1, "name": "root", "parent_id": None},
            {"id": 2, "name": "a", "parent_id": 1},
            {"id": 3, "name": "b", "parent_id": 1},
        ])
        c.execute(tag_links.insert(), [{"item_id": 1, "tag_id": 1}, {"item_id": 1, "tag_id": 2},
                                  {"item_id": 2, "tag_id": 2}])
        c.execute(Note.__table__.insert(), [{"id": 1, "item_id": 2}, {"id": 2, "item_id": 2},
                                            {"id": 3, "item_id": None}])

    class M:
        pass

    M.Tag, M.Item, M.Note = Tag, Item, Note
    return M


def _selects(sql_log):
    return [s for s in sql_log.statements if s.startswith("SELECT")]


def test_immediateload_one_to_many_loads_with_parents(engine, m, sql_log):
    s = Session(engine)
    items = s.query(m.Item).options(immediateload(m.Item.children)).order_by(m.Item.id).all()
    assert len(_selects(sql_log)) == 4  # the items, then one per item
    assert all("children" in i.__dict__ for i in items)
    n = len(sql_log.statements)
    assert [c.name for c in items[0].children] == ["a", "b"]
    assert items[1].children == []
    assert len(sql_log.statements) == n
    s.close()


def test_immediateload_many_to_many_with_select(engine, m, sql_log):
    s = Session(engine)
    items = s.scalars(select(m.Item).options(immediateload(m.Item.tags))
                      .order_by(m.Item.id)).all()
    n = len(sql_log.statements)
    assert [[t.name for t in i.tags] for i in items] == [["t1", "t2"], ["t2"], []]
    assert len(sql_log.statements) == n
    s.close()


def test_immediateload_chained_below(engine, m, sql_log):
    s = Session(engine)
    root = s.query(m.Item).options(
        immediateload(m.Item.children).immediateload(m.Item.tags)).filter_by(id=1).one()
    n = len(sql_log.statements)
    assert [[t.name for t in c.tags] for c in root.children] == [["t2"], []]
    assert len(sql_log.statements) == n
    s.close()


def test_immediateload_with_get(engine, m, sql_log):
    s = Session(engine)
    root = s.get(m.Item, 1, options=[immediateload(m.Item.tags)])
    assert "tags" in root.__dict__
    assert [t.name for t in root.tags] == ["t1", "t2"]
    s.close()


def test_configured_lazy_immediate_many_to_one(engine, m, sql_log):
    s = Session(engine)
    notes = s.query(m.Note).order_by(m.Note.id).all()
    # two notes share item 2: the second finds it in the identity map; note 3 has none
    assert len(_selects(sql_log)) == 2
    n = len(sql_log.statements)
    assert [x.item.name if x.item else None for x in notes] == ["a", "a", None]
    assert notes[0].item is notes[1].item
    assert len(sql_log.statements) == n
    s.close()


def test_lazyload_overrides_configured_immediate(engine, m, sql_log):
    s = Session(engine)
    notes = s.query(m.Note).options(lazyload(m.Note.item)).all()
    assert len(_selects(sql_log)) == 1
    assert all("item" not in x.__dict__ for x in notes)
    s.close()


def test_immediateload_keeps_already_loaded_collection(engine, m, sql_log):
    s = Session(engine)
    root = s.query(m.Item).options(joinedload(m.Item.children)).filter_by(id=1).one()
    kids = root.children
    root2 = s.query(m.Item).options(immediateload(m.Item.children)).filter_by(id=1).one()
    assert root2 is root and root.children is kids
    s.close()


def _parent_child(Base, engine, child_lazy, parent_lazy):
    class Parent(Base):
        __tablename__ = "imm_parent"
        id = Column(Integer, primary_key=True)
        kids = relationship("Kid", lazy=parent_lazy, back_populates="parent", order_by="Kid.id")

    class Kid(Base):
        __tablename__ = "imm_kid"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("imm_parent.id"))
        parent = relationship(Parent, lazy=child_lazy, back_populates="kids")

    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(Parent.__table__.insert(), [{"id": 1}])
        c.execute(Kid.__table__.insert(), [{"id": 1, "parent_id": 1}, {"id": 2, "parent_id": 1}])
    return Parent, Kid


@pytest.mark.parametrize("configured", ["raise", "raise_on_sql", "noload", "select"])
def test_immediateload_option_overrides_the_configured_strategy(Base, engine, sql_log,
                                                                 configured):
    Parent, Kid = _parent_child(Base, engine, configured, configured)
    with Session(engine) as s:
        (p,) = s.scalars(select(Parent).options(immediateload(Parent.kids))).all()
        kids = s.scalars(select(Kid).options(immediateload(Kid.parent)).order_by(Kid.id)).all()
    # detached now: everything was loaded by the queries
    assert [k.id for k in p.kids] == [1, 2]
    assert [k.parent for k in kids] == [p, p]


@pytest.mark.parametrize("parent_lazy", ["joined", "selectin", "subquery"])
def test_immediate_many_to_one_back_to_the_loaded_parent_is_set_without_sql(
        Base, engine, sql_log, parent_lazy):
    Parent, Kid = _parent_child(Base, engine, "immediate", parent_lazy)
    with Session(engine) as s:
        sql_log.clear()
        p = s.get(Parent, 1)
        n = len(sql_log)
    assert n == (1 if parent_lazy == "joined" else 2)
    # set while loading (the identity map held the parent), usable once detached
    assert all("parent" in k.__dict__ and k.parent is p for k in p.kids)


def test_immediate_self_reference_at_a_cycle_reads_only_the_identity_map(Base, engine, sql_log):
    class Node(Base):
        __tablename__ = "imm_node"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("imm_node.id"))
        parent = relationship("Node", remote_side=[id], lazy="immediate")

    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(Node.__table__.insert(), [{"id": 1, "parent_id": None},
                                            {"id": 2, "parent_id": 1}])
    with Session(engine) as s:
        sql_log.clear()
        n2 = s.get(Node, 2)
        assert len(sql_log) == 1 and "parent" not in n2.__dict__  # no SQL for the cycle
        n1 = s.get(Node, 1)
        s.expire(n2)
        assert s.get(Node, 2, populate_existing=True) is n2
        assert n2.__dict__["parent"] is n1  # found in the identity map this time


# -- lazy="immediate" on a self-referential relationship with join_depth -----------------------
@pytest.fixture
def chain(Base, engine):
    """``Node`` rows 1..6 in a chain: 1's parent is 2, 2's is 3, ... (and children back)."""
    def make(which, join_depth):
        class Node(Base):
            __tablename__ = "nodes"
            id = Column(Integer, primary_key=True)
            parent_id = Column(Integer, ForeignKey("nodes.id"))
            if which == "parent":
                parent = relationship("Node", remote_side=[id], lazy="immediate",
                                      join_depth=join_depth)
            else:
                children = relationship("Node", lazy="immediate", join_depth=join_depth,
                                        order_by="Node.id")

        Base.metadata.create_all(engine)
        with engine.begin() as c:
            c.execute(Node.__table__.insert(),
                      [{"id": i, "parent_id": i + 1 if i < 6 else None} for i in range(6, 0, -1)]
                      if which == "parent" else
                      [{"id": i, "parent_id": i - 1 if i > 1 else None} for i in range(1, 7)])
        return Node
    return make


def _levels_loaded(obj, key):
    out = []
    while obj is not None and key in obj.__dict__:
        out.append(obj.id)
        v = obj.__dict__[key]
        obj = (v[0] if v else None) if isinstance(v, list) else v
    return out


@pytest.mark.parametrize("which", ["parent", "children"])
@pytest.mark.parametrize("join_depth", [1, 2, 3])
def test_immediate_self_referential_stops_at_join_depth(engine, chain, sql_log, which,
                                                        join_depth):
    Node = chain(which, join_depth)
    s = Session(engine)
    sql_log.clear()
    n1 = s.query(Node).filter(Node.id == 1).one()
    # the node, then one SELECT per level join_depth allows (it loaded all six levels)
    assert len(_selects(sql_log)) == 1 + join_depth
    assert _levels_loaded(n1, which) == list(range(1, 1 + join_depth))
    s.close()


def test_immediate_many_to_one_past_join_depth_loads_on_access(engine, chain, sql_log):
    Node = chain("parent", 1)
    s = Session(engine)
    n1 = s.query(Node).filter(Node.id == 1).one()
    n2 = n1.parent
    assert "parent" not in n2.__dict__
    sql_log.clear()
    assert n2.parent.id == 3  # a lazy load now; its own target loads one level below
    assert len(_selects(sql_log)) == 2
    assert n2.parent.parent.id == 4
    s.close()
