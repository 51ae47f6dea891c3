"""Self-referential trees and mutual references flushed with deletes: deleting
parents and children together, moving a node while its old parent goes,
ON DELETE CASCADE in the schema, post_update references between deleted rows."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, text

from datamapper import backref, exc, relationship

CASCADES = [None, "all, delete", "all, delete-orphan"]


def _node_model(Base, engine, cascade=None, passive=False, ondelete=None, side="both"):
    class Node(Base):
        __tablename__ = "nodes"
        id = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20))
        parent_id = Column(Integer, ForeignKey("nodes.id", ondelete=ondelete))
        kw = {}
        if cascade:
            kw["cascade"] = cascade
        if passive:
            kw["passive_deletes"] = True
        if side == "both":
            children = relationship("Node", backref=backref("parent", remote_side=[id]),
                                    order_by="Node.id", **kw)
        elif side == "o2m":
            children = relationship("Node", order_by="Node.id", **kw)
        else:
            parent = relationship("Node", remote_side=[id])

    Base.metadata.create_all(engine)
    return Node


def _seed(engine, rows):
    with engine.begin() as conn:
        for i, name, parent in rows:
            conn.execute(text("INSERT INTO nodes (id, name, parent_id) VALUES (:i, :n, :p)"),
                         {"i": i, "n": name, "p": parent})


# a tree whose keys do not follow its depth: children have smaller keys than parents
TREE = [(5, "root", None), (4, "a", 5), (3, "b", 5), (2, "a1", 4), (1, "a1x", 2),
        (6, "other", None)]


@pytest.mark.parametrize("cascade", CASCADES)
@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "expired"])
def test_deep_tree_deleted_at_once_deletes_children_first(
        Base, engine, session, read_rows, cascade, loaded):
    Node = _node_model(Base, engine, cascade)
    _seed(engine, TREE)
    nodes = {i: session.get(Node, i) for i in (5, 4, 3, 2, 1)}
    if loaded:
        for n in nodes.values():
            n.children  # noqa: B018
    for i in (5, 4, 3, 2, 1):
        session.delete(nodes[i])
    session.commit()
    assert read_rows("SELECT id, parent_id FROM nodes ORDER BY 1") == [(6, None)]


@pytest.mark.parametrize("cascade", ["all, delete", "all, delete-orphan"])
def test_deleting_root_with_delete_cascade_deletes_whole_tree(
        Base, engine, session, read_rows, cascade):
    Node = _node_model(Base, engine, cascade)
    _seed(engine, TREE)
    session.delete(session.get(Node, 5))
    session.commit()
    assert read_rows("SELECT id FROM nodes ORDER BY 1") == [(6,)]


@pytest.mark.parametrize("cascade", CASCADES)
def test_parent_and_grandchild_deleted_with_on_delete_cascade_and_passive_deletes(
        Base, engine, session, read_rows, cascade):
    # the database removes the grandchild with its ancestor: its own DELETE then
    # matches no row, which is not stale data
    Node = _node_model(Base, engine, cascade, passive=True, ondelete="CASCADE")
    _seed(engine, [(1, "root", None), (2, "mid", 1), (3, "leaf", 2), (4, "other", None)])
    root, leaf = session.get(Node, 1), session.get(Node, 3)
    session.delete(leaf)
    session.delete(root)
    session.commit()
    assert read_rows("SELECT id FROM nodes ORDER BY 1") == [(4,)]
    assert session.get(Node, 1) is None
    assert session.get(Node, 3) is None


def test_on_delete_cascade_table_still_reports_a_row_that_survived(
        Base, engine, make_session, read_rows):
    # a versioned row changed elsewhere still exists: its DELETE matching nothing is
    # stale data even though the table has an ON DELETE CASCADE key
    class VNode(Base):
        __tablename__ = "vnodes"
        id = Column(Integer, primary_key=True, autoincrement=False)
        parent_id = Column(Integer, ForeignKey("vnodes.id", ondelete="CASCADE"))
        version = Column(Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}

    Base.metadata.create_all(engine)
    s = make_session(expire_on_commit=False)
    n = VNode(id=1)
    s.add(n)
    s.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE vnodes SET version = version + 1"))
    s.delete(n)
    with pytest.raises(exc.StaleDataError):
        s.flush()
    s.rollback()
    assert read_rows("SELECT id, version FROM vnodes ORDER BY 1") == [(1, 2)]


@pytest.mark.parametrize(("side", "cascade"), [
    ("both", None), ("both", "all, delete"), ("both", "all, delete-orphan"), ("m2o", None)])
@pytest.mark.parametrize("schema", ["plain", "on_delete_cascade"])
def test_moving_node_while_deleting_its_old_parent_keeps_the_node(
        Base, engine, session, read_rows, cascade, schema, side):
    passive = schema == "on_delete_cascade"
    Node = _node_model(Base, engine, cascade, passive=passive,
                       ondelete="CASCADE" if passive else None, side=side)
    _seed(engine, TREE)
    old_parent, node, new_parent = (session.get(Node, i) for i in (4, 2, 6))
    if side == "both":
        old_parent.children  # noqa: B018
        new_parent.children  # noqa: B018
    node.parent = new_parent
    session.delete(old_parent)
    session.commit()
    assert read_rows("SELECT id, parent_id FROM nodes WHERE id IN (1, 2, 4) ORDER BY 1") == [
        (1, 2), (2, 6)]


@pytest.mark.parametrize("new_parent_id", [6, 0], ids=["new_after_old", "new_before_old"])
def test_moving_node_between_parents_with_delete_orphan_is_no_orphan(
        Base, engine, session, read_rows, new_parent_id):
    Node = _node_model(Base, engine, "all, delete-orphan")
    _seed(engine, [*TREE, (0, "zero", None)])
    # the identity order decides which parent the flush reads first
    old_parent, new_parent = session.get(Node, 4), session.get(Node, new_parent_id)
    old_parent.children  # noqa: B018
    new_parent.children  # noqa: B018
    child = session.get(Node, 2)
    child.parent = new_parent
    session.commit()
    assert read_rows("SELECT id, parent_id FROM nodes WHERE id IN (1, 2) ORDER BY 1") == [
        (1, 2), (2, new_parent_id)]


def test_collection_move_while_deleting_old_parent_one_to_many_only(
        Base, engine, session, read_rows):
    Node = _node_model(Base, engine, "all, delete-orphan", side="o2m")
    _seed(engine, TREE)
    old_parent, new_parent = session.get(Node, 4), session.get(Node, 6)
    new_parent.children  # noqa: B018  (loaded first: a later load would autoflush the orphan)
    node = old_parent.children[0]
    old_parent.children.remove(node)
    new_parent.children.append(node)
    session.delete(old_parent)
    session.commit()
    assert read_rows("SELECT id, parent_id FROM nodes WHERE id IN (1, 2, 4) ORDER BY 1") == [
        (1, 2), (2, 6)]


def test_many_to_one_only_parent_and_child_deleted_together(
        Base, engine, session, read_rows):
    Node = _node_model(Base, engine, side="m2o")
    _seed(engine, TREE)
    nodes = [session.get(Node, i) for i in (1, 2, 4)]
    for n in nodes:
        n.parent  # noqa: B018
    for n in reversed(nodes):
        session.delete(n)
    session.commit()
    assert [r[0] for r in read_rows("SELECT id FROM nodes ORDER BY 1")] == [3, 5, 6]


def test_new_tree_built_through_many_to_one_only(Base, engine, session, read_rows):
    Node = _node_model(Base, engine, side="m2o")
    root = Node(id=30, name="r")
    mid = Node(id=20, name="m", parent=root)
    leaf = Node(id=10, name="l", parent=mid)
    session.add(leaf)
    session.commit()
    assert read_rows("SELECT id, parent_id FROM nodes ORDER BY 1") == [(10, 20), (20, 30), (30, None)]
    session.delete(leaf)
    session.delete(mid)
    session.delete(root)
    session.commit()
    assert read_rows("SELECT id FROM nodes ORDER BY 1") == []


# -- two tables referring to each other ----------------------------------------------------
def _mutual(Base, engine, ondelete_a, ondelete_b, cascade, passive):
    class A(Base):
        __tablename__ = "ta"
        id = Column(Integer, primary_key=True, autoincrement=False)
        b_id = Column(Integer, ForeignKey("tb.id", ondelete=ondelete_a, use_alter=True,
                                          name="fk_ta_b"))
        b = relationship("B", foreign_keys=[b_id], post_update=True)
        kw = {"cascade": cascade} if cascade else {}
        bs = relationship("B", foreign_keys="B.a_id", backref="a", passive_deletes=passive,
                          order_by="B.id", **kw)

    class B(Base):
        __tablename__ = "tb"
        id = Column(Integer, primary_key=True, autoincrement=False)
        a_id = Column(Integer, ForeignKey("ta.id", ondelete=ondelete_b))

    Base.metadata.create_all(engine)
    return A, B


@pytest.mark.parametrize("ondelete_a", [None, "CASCADE"])
@pytest.mark.parametrize("ondelete_b", [None, "CASCADE"])
@pytest.mark.parametrize("cascade", [None, "all, delete"])
def test_mutual_references_with_post_update_deleted_together(
        Base, engine, make_session, read_rows, ondelete_a, ondelete_b, cascade):
    A, B = _mutual(Base, engine, ondelete_a, ondelete_b, cascade, passive=False)
    s = make_session()
    a = A(id=1)
    b1, b2 = B(id=1, a=a), B(id=2, a=a)
    a.b = b1
    s.add_all([a, b1, b2])
    s.commit()
    assert read_rows("SELECT id, b_id FROM ta ORDER BY 1") == [(1, 1)]
    s.delete(a)
    s.delete(b1)
    s.commit()
    assert read_rows("SELECT id FROM ta ORDER BY 1") == []
    expected = [] if cascade else [(2, None)]
    assert read_rows("SELECT id, a_id FROM tb ORDER BY 1") == expected


def test_post_update_key_to_a_surviving_row_is_left_alone(
        Base, engine, make_session, read_rows, sql_log):
    A, B = _mutual(Base, engine, None, None, None, passive=False)
    s = make_session()
    a = A(id=1)
    b1 = B(id=1)
    a.b = b1
    s.add_all([a, b1])
    s.commit()
    other = A(id=2, b=b1)
    s.add(other)
    s.commit()
    sql_log.clear()
    s.delete(a)
    s.commit()
    assert not [st for st in sql_log.statements if st.lstrip().upper().startswith("UPDATE")]
    assert read_rows("SELECT id, b_id FROM ta ORDER BY 1") == [(2, 1)]


def test_missing_row_without_cascade_path_still_warns(Base, engine, make_session):
    """The ON DELETE CASCADE tolerance does not hide a row deleted by someone else:
    without a version counter that is reported with a warning (SQLAlchemy 2.x's
    ``confirm_deleted_rows``), and the delete completes."""
    Node = _node_model(Base, engine)
    _seed(engine, TREE)
    s = make_session(expire_on_commit=False)
    n = s.get(Node, 6)
    s.commit()  # ends the read transaction (SQLite locks the file otherwise)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM nodes WHERE id = 6"))
    s.delete(n)
    with pytest.warns(exc.SAWarning, match="nodes"):
        s.flush()
