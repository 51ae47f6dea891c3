"""``with_loader_criteria()``: criteria an entity's rows must meet wherever a statement
reads them (WHERE for the selected table, the ON clause of joins to it), carried on to
the lazy loads and selectin/joined eager loads of the objects it loads; a lambda given
the class applies to every mapped subclass of a mixin; applied from a
``do_orm_execute`` listener (the soft-delete / multi-tenant recipe)."""

import pytest
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, event, func
from sqlalchemy import select as core_select

from datamapper import (
    aliased,
    joinedload,
    relationship,
    select,
    selectinload,
    with_loader_criteria,
)
from datamapper.exc import ArgumentError


class SoftDelete:
    """A mixin: every class with it has a ``deleted`` column."""

    deleted = Column(Boolean, nullable=False, default=False)


@pytest.fixture
def world(Base, engine, make_session):
    post_tags = Table(
        "lc_post_tags", Base.metadata,
        Column("post_id", Integer, ForeignKey("lc_posts.id"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("lc_tags.id"), primary_key=True),
    )

    class Author(SoftDelete, Base):
        __tablename__ = "lc_authors"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        posts = relationship("Post", back_populates="author", order_by="Post.id")

    class Post(SoftDelete, Base):
        __tablename__ = "lc_posts"
        id = Column(Integer, primary_key=True)
        title = Column(String(30))
        author_id = Column(Integer, ForeignKey("lc_authors.id"))
        author = relationship(Author, back_populates="posts")
        tags = relationship("Tag", secondary=post_tags, order_by="Tag.id")

    class Tag(SoftDelete, Base):
        __tablename__ = "lc_tags"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))

    Base.metadata.create_all(engine)
    s = make_session()
    ann = Author(id=1, name="ann")
    gone = Author(id=2, name="gone", deleted=True)
    red, old = Tag(id=1, name="red"), Tag(id=2, name="old", deleted=True)
    s.add_all([
        ann, gone, red, old,
        Post(id=1, title="p1", author=ann, tags=[red, old]),
        Post(id=2, title="p2", author=ann, deleted=True, tags=[red]),
        Post(id=3, title="p3", author=gone, tags=[red]),
        Post(id=4, title="p4", author=ann),
    ])
    s.commit()
    s.close()
    return Author, Post, Tag


def _live(cls):
    return lambda c: c.deleted == False  # noqa: E712


def test_top_level_select_gets_where_criteria(world, make_session, sql_log):
    Author, Post, _Tag = world
    s = make_session()
    stmt = select(Post).order_by(Post.id).options(
        with_loader_criteria(Post, Post.deleted == False))  # noqa: E712
    assert [p.title for p in s.scalars(stmt)] == ["p1", "p3", "p4"]
    (sql,) = sql_log.matching("SELECT")
    assert "lc_posts.deleted =" in sql.split("WHERE", 1)[1]


def test_query_gets_where_criteria(world, make_session):
    Author, Post, _Tag = world
    s = make_session()
    q = s.query(Post).options(with_loader_criteria(Post, Post.deleted == False))  # noqa: E712
    assert [p.title for p in q.order_by(Post.id)] == ["p1", "p3", "p4"]
    assert q.count() == 3


def test_a_query_of_core_tables_and_their_columns_reads_no_entity(world, make_session):
    """SQLAlchemy's versioned_rows/versioned_update_old_row.py example checks the raw
    rows with ``session.query(Child.__table__)`` while a do_orm_execute listener adds
    with_loader_criteria() for every statement: the table's rows are all read."""
    Author, Post, _Tag = world
    s = make_session()
    live = with_loader_criteria(SoftDelete, _live(None), include_aliases=True)
    t = Post.__table__
    assert len(s.query(t).options(live).all()) == 4
    assert sorted(r.id for r in s.query(t.c.id).options(live)) == [1, 2, 3, 4]
    # mapped attributes name the entity, also inside an expression
    assert sorted(r.id for r in s.query(Post.id).options(live)) == [1, 3, 4]
    assert s.query(func.count(Post.id)).options(live).scalar() == 3


def test_join_to_the_entity_gets_the_criteria_in_the_on_clause(world, make_session,
                                                                sql_log):
    Author, Post, _Tag = world
    s = make_session()
    stmt = (select(Author.name, func.count(Post.id))
            .outerjoin(Author.posts).group_by(Author.name).order_by(Author.name)
            .options(with_loader_criteria(Post, Post.deleted == False)))  # noqa: E712
    assert s.execute(stmt).all() == [("ann", 2), ("gone", 1)]
    (sql,) = sql_log.matching("SELECT")
    on = sql.split(" ON ", 1)[1].split("GROUP BY")[0]
    assert "lc_posts.deleted" in on and "WHERE" not in sql


def test_lambda_on_a_mixin_applies_to_each_mapped_class(world, make_session, sql_log):
    Author, Post, _Tag = world
    s = make_session()
    stmt = (select(Post).join(Post.author).order_by(Post.id)
            .options(with_loader_criteria(SoftDelete, _live(SoftDelete))))
    assert [p.title for p in s.scalars(stmt)] == ["p1", "p4"]
    (sql,) = sql_log.matching("SELECT")
    assert "lc_authors.deleted" in sql.split(" ON ", 1)[1].split("WHERE")[0]
    assert "lc_posts.deleted" in sql.split("WHERE", 1)[1]


def test_aliases_only_with_include_aliases(world, make_session):
    Author, Post, _Tag = world
    s = make_session()
    pa = aliased(Post)
    crit = Post.deleted == False  # noqa: E712
    plain = select(pa).order_by(pa.id).options(with_loader_criteria(Post, crit))
    assert len(s.scalars(plain).all()) == 4
    s.expunge_all()
    incl = select(pa).order_by(pa.id).options(
        with_loader_criteria(Post, crit, include_aliases=True))
    assert [p.title for p in s.scalars(incl)] == ["p1", "p3", "p4"]


@pytest.mark.parametrize("propagate", [True, False])
def test_lazy_load_carries_the_criteria_of_the_statement(world, make_session, sql_log,
                                                         propagate):
    Author, Post, Tag = world
    s = make_session()
    opts = [with_loader_criteria(SoftDelete, _live(SoftDelete),
                                 propagate_to_loaders=propagate)]
    ann = s.scalars(select(Author).where(Author.id == 1).options(*opts)).one()
    sql_log.clear()
    titles = [p.title for p in ann.posts]
    (sql,) = sql_log.matching("SELECT")
    if propagate:
        assert titles == ["p1", "p4"]
        assert "lc_posts.deleted" in sql
        # and on: the posts loaded lazily carry it to their own lazy loads
        assert [t.name for t in ann.posts[0].tags] == ["red"]
    else:
        assert titles == ["p1", "p2", "p4"]
        assert "deleted" not in sql.split("WHERE", 1)[1]


def test_lazy_many_to_one_queries_with_the_criteria(world, make_session, sql_log):
    Author, Post, _Tag = world
    s = make_session()
    p3 = s.scalars(select(Post).where(Post.id == 3).options(
        with_loader_criteria(Author, Author.deleted == False))).one()  # noqa: E712
    sql_log.clear()
    assert p3.author is None  # its author is soft-deleted
    (sql,) = sql_log.matching("SELECT")
    assert "lc_authors.deleted" in sql


@pytest.mark.parametrize("loader", [selectinload, joinedload])
def test_eager_loads_get_the_criteria(world, make_session, sql_log, loader):
    Author, Post, Tag = world
    s = make_session()
    stmt = (select(Author).order_by(Author.id)
            .options(loader(Author.posts).options(loader(Post.tags)),
                     with_loader_criteria(Post, Post.deleted == False),  # noqa: E712
                     with_loader_criteria(Tag, Tag.deleted == False)))  # noqa: E712
    authors = s.scalars(stmt).unique().all()
    n = sql_log.count
    got = {a.name: [(p.title, [t.name for t in p.tags]) for p in a.posts] for a in authors}
    assert got == {"ann": [("p1", ["red"]), ("p4", [])], "gone": [("p3", ["red"])]}
    assert sql_log.count == n  # all loaded by the statement
    text = " ".join(sql_log.statements)
    assert "lc_posts" in text and text.count("deleted") >= 2
    if loader is joinedload:
        (sql,) = sql_log.matching("SELECT")
        assert "WHERE" not in sql  # in the ON clauses: authors without posts stay


def test_do_orm_execute_listener_soft_delete_recipe(world, make_session, sql_log):
    Author, Post, Tag = world
    s = make_session()

    @event.listens_for(s, "do_orm_execute")
    def _add_criteria(state):
        if state.is_select and not state.is_column_load and \
                not state.is_relationship_load:
            state.statement = state.statement.options(
                with_loader_criteria(SoftDelete, lambda cls: cls.deleted == False,  # noqa: E712
                                     include_aliases=True))

    assert [a.name for a in s.scalars(select(Author))] == ["ann"]
    ann = s.scalars(select(Author)).one()
    assert [p.title for p in ann.posts] == ["p1", "p4"]
    assert [t.name for t in ann.posts[0].tags] == ["red"]
    assert [p.title for p in s.query(Post).order_by(Post.id)] == ["p1", "p3", "p4"]
    assert s.query(Post).count() == 3  # the counted query gets the criteria too
    # a Core select of the class too
    assert [p.title for p in s.scalars(core_select(Post).order_by(Post.id))] == \
        ["p1", "p3", "p4"]


def test_closure_values_are_bound_per_statement(world, make_session):
    Author, Post, _Tag = world
    s = make_session()

    def by_author(wanted):
        return select(Post).order_by(Post.id).options(
            with_loader_criteria(Post, lambda cls: cls.author_id == wanted))

    for wanted, titles in ((1, ["p1", "p2", "p4"]), (2, ["p3"])):
        s.expunge_all()
        assert [p.title for p in s.scalars(by_author(wanted))] == titles


def test_str_of_a_core_select_shows_the_criteria(world):
    _Author, Post, _Tag = world
    stmt = core_select(Post).options(with_loader_criteria(Post, Post.deleted == False))  # noqa: E712
    assert "lc_posts.deleted" in str(stmt)


def test_bad_arguments_are_refused(world):
    _Author, Post, _Tag = world
    with pytest.raises(ArgumentError, match="not mapped"):
        with_loader_criteria(SoftDelete, SoftDelete.deleted == False)  # noqa: E712
    with pytest.raises(ArgumentError, match="must be a mapped class"):
        with_loader_criteria("posts", lambda c: c.deleted)
    with pytest.raises(ArgumentError, match="SQL expression"):
        with_loader_criteria(Post, 5)


@pytest.mark.parametrize("shape", ["exists", "any", "scalar", "in", "from_subquery"])
def test_criteria_apply_in_nested_selects(world, make_session, shape):
    """The criteria limit the entity's rows in subqueries too: EXISTS, any(), a scalar
    subquery, IN (subquery), a subquery in FROM."""
    from sqlalchemy import exists

    Author, Post, _Tag = world
    s = make_session()
    live_posts = with_loader_criteria(Post, Post.deleted == False)  # noqa: E712
    if shape == "exists":
        stmt = select(Author).where(exists().where(Post.author_id == Author.id,
                                                   Post.title == "p2"))
    elif shape == "any":
        stmt = select(Author).where(Author.posts.any(Post.title == "p2"))
    elif shape == "scalar":
        count = (core_select(func.count(Post.id)).where(Post.author_id == Author.id)
                 .scalar_subquery())
        stmt = select(Author).where(count == 3)
    elif shape == "in":
        stmt = select(Author).where(Author.id.in_(
            core_select(Post.author_id).where(Post.title == "p2")))
    else:
        sub = core_select(Post.author_id).where(Post.title == "p2").subquery()
        stmt = select(Author).join(sub, sub.c.author_id == Author.id)
    # p2 is deleted: with the criteria no author has it, and ann has 2 posts, not 3
    assert [a.name for a in s.scalars(stmt)] == ["ann"]
    s.expunge_all()
    assert [a.name for a in s.scalars(stmt.options(live_posts))] == []


def test_criteria_whose_own_expression_selects_the_entity(world, make_session):
    """A criterion that itself reads the entity in a subquery: applied once, not to
    its own subquery (no endless nesting)."""
    Author, Post, _Tag = world
    s = make_session()
    first = core_select(func.min(Post.id)).scalar_subquery()
    stmt = select(Post).options(with_loader_criteria(Post, Post.id == first))
    assert [p.title for p in s.scalars(stmt)] == ["p1"]


@pytest.mark.parametrize("style", ["relationship", "explicit"])
def test_criteria_of_two_entities_apply_inside_each_others_subqueries(world, make_session,
                                                                     sql_log, style):
    """Authors "with a live post", posts "by a live author": each criterion's subquery
    reads the other entity, whose criterion applies there too (not its own, which
    would nest without end)."""
    from sqlalchemy import exists

    Author, Post, _Tag = world
    s = make_session()
    if style == "relationship":
        opts = (with_loader_criteria(Author, Author.posts.any()),
                with_loader_criteria(Post, Post.deleted == False))  # noqa: E712
    else:
        opts = (with_loader_criteria(Author, exists().where(Post.author_id == Author.id)),
                with_loader_criteria(Post, Post.deleted == False))  # noqa: E712
    # ghost's only post is deleted: with the Post criterion left out of the Author
    # criterion's subquery, ghost was listed too
    s.add(Author(id=3, name="ghost", posts=[Post(id=5, title="p5", deleted=True)]))
    s.commit()
    s.expunge_all()
    sql_log.clear()
    stmt = select(Author.name).order_by(Author.id).options(*opts)
    assert s.scalars(stmt).all() == ["ann", "gone"]
    assert [r.name for r in s.query(Author).options(*opts).order_by(Author.id)] == \
        ["ann", "gone"]
    assert all("lc_posts.deleted" in st for st in sql_log.matching("SELECT"))


def test_two_correlated_criteria_of_one_entity_stay_apart(world, make_session, sql_log):
    """Two criteria of Author, each an EXISTS correlated to the author: neither is put
    inside the other's subquery (there it named the author table as a FROM of its own
    and tested each post row instead of the author: ann, with a deleted post, passed)."""
    from sqlalchemy import exists

    Author, Post, _Tag = world
    s = make_session()
    has_p1_or_p3 = exists().where(Post.author_id == Author.id, Post.title.in_(["p1", "p3"]))
    no_deleted_post = ~exists().where(Post.author_id == Author.id,
                                      Post.deleted == True)  # noqa: E712
    sql_log.clear()
    stmt = select(Author.name).order_by(Author.id).options(
        with_loader_criteria(Author, has_p1_or_p3), with_loader_criteria(Author, no_deleted_post))
    assert s.scalars(stmt).all() == ["gone"]
    assert sql_log.matching("SELECT")[0].count("FROM lc_authors") == 1
