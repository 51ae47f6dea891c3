"""with_parent(obj, Parent.rel) and Query.with_parent(): criteria selecting what
loading ``obj.rel`` would, for one-to-many, many-to-one and many-to-many, on aliases,
for pending and transient parents; checked by the SQL and the rows it selects."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, or_, select
from sqlalchemy.exc import ArgumentError, InvalidRequestError

from datamapper import aliased, relationship, synonym, with_parent


@pytest.fixture
def M(Base, engine, make_session):
    post_tags = Table("wp_post_tags", Base.metadata,
                 Column("post_id", ForeignKey("wp_posts.id"), primary_key=True),
                 Column("tag_id", ForeignKey("wp_tags.id"), primary_key=True))

    class Author(Base):
        __tablename__ = "wp_authors"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        posts = relationship("Post", back_populates="author", order_by="Post.id")
        writings = synonym("posts")

    class Post(Base):
        __tablename__ = "wp_posts"
        id = Column(Integer, primary_key=True)
        author_id = Column(ForeignKey("wp_authors.id"))
        title = Column(String(30))
        author = relationship("Author", back_populates="posts")
        tags = relationship("Tag", secondary=post_tags, order_by="Tag.id")

    class Tag(Base):
        __tablename__ = "wp_tags"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))

    Base.metadata.create_all(engine)
    s = make_session()
    red, blue = Tag(id=1, name="red"), Tag(id=2, name="blue")
    s.add_all([Author(id=1, name="ann", posts=[Post(id=1, title="p1", tags=[red, blue]),
                                               Post(id=2, title="p2", tags=[blue])]),
               Author(id=2, name="bob", posts=[Post(id=3, title="p3")])])
    s.commit()
    s.close()
    return Author, Post, Tag


def test_one_to_many(M, session, sql_log):
    Author, Post, _Tag = M
    ann = session.get(Author, 1)
    sql_log.clear()
    posts = session.scalars(select(Post).where(with_parent(ann, Author.posts))
                            .order_by(Post.id)).all()
    assert [p.title for p in posts] == ["p1", "p2"]
    (sel,) = sql_log.entries
    assert "WHERE" in sel.statement and "wp_posts.author_id" in sel.statement
    assert "wp_authors" not in sel.statement.split("WHERE")[0].split("FROM")[1]


def test_many_to_one_and_many_to_many(M, session):
    Author, Post, Tag = M
    p1 = session.get(Post, 1)
    assert session.query(Author).filter(with_parent(p1, Post.author)).one().name == "ann"
    names = [t.name for t in session.query(Tag).filter(with_parent(p1, Post.tags))
             .order_by(Tag.id)]
    assert names == ["red", "blue"]


def test_binds_are_unique_per_parent(M, session):
    Author, Post, _Tag = M
    ann, bob = session.get(Author, 1), session.get(Author, 2)
    q = session.query(Post).filter(or_(with_parent(ann, Author.posts),
                                       with_parent(bob, Author.posts)))
    assert q.compile().params == {"param_1": 1, "param_2": 2}
    assert sorted(p.id for p in q) == [1, 2, 3]


def test_aliased_target_by_of_type_and_from_entity(M, session):
    Author, Post, _Tag = M
    ann = session.get(Author, 1)
    pa = aliased(Post)
    q = session.query(pa).filter(with_parent(ann, Author.posts.of_type(pa)))
    assert "wp_posts_1.author_id" in str(q)
    assert sorted(p.id for p in q) == [1, 2]
    q2 = session.query(pa).filter(with_parent(ann, Author.posts, from_entity=pa))
    assert sorted(p.id for p in q2) == [1, 2]


def test_query_with_parent_finds_the_relationship(M, session):
    Author, Post, _Tag = M
    bob = session.get(Author, 2)
    assert [p.id for p in session.query(Post).with_parent(bob)] == [3]
    assert [p.id for p in session.query(Post).with_parent(bob, Author.writings)] == [3]


@pytest.mark.parametrize("given", ["property", "inferred", "joined"])
def test_query_with_parent_of_an_aliased_entity_names_the_alias(M, session, sql_log, given):
    # the criteria named wp_posts, which the query read beside its alias: a cartesian
    # product of the alias with ann's posts, giving every post
    Author, Post, _Tag = M
    bob = session.get(Author, 2)
    pa = aliased(Post)
    sql_log.clear()
    if given == "joined":  # (the last joined entity, as filter_by() names it)
        q = session.query(Author).join(pa, Author.posts).with_parent(bob, Author.posts)
        assert [a.id for a in q] == [2]
    else:
        q = session.query(pa)
        q = q.with_parent(bob, Author.posts) if given == "property" else q.with_parent(bob)
        assert [p.id for p in q] == [3]
    (sel,) = sql_log.entries
    assert "wp_posts_1.author_id" in sel.statement
    assert "wp_posts.author_id" not in sel.statement


def test_pending_parent_values_are_read_when_the_query_runs(M, session):
    Author, Post, _Tag = M
    draft = Post(id=10, author_id=2, title="draft")
    session.add(draft)
    q = session.query(Author).filter(with_parent(draft, Post.author))
    draft.author_id = 1  # changed after the criterion was made
    assert q.one().name == "ann"


def test_transient_parent(M, session):
    Author, Post, _Tag = M
    ghost = Author(id=2)
    assert [p.id for p in session.query(Post).filter(with_parent(ghost, Author.posts))] == [3]


def test_bad_arguments_are_refused(M, session):
    Author, Post, _Tag = M
    ann = session.get(Author, 1)
    with pytest.raises(ArgumentError, match="not strings"):
        with_parent(ann, "posts")
    with pytest.raises(ArgumentError, match="Expected relationship property"):
        with_parent(ann, Author.name)
    with pytest.raises(ArgumentError, match="not a Post object"):
        with_parent(ann, Post.author)
    with pytest.raises(InvalidRequestError, match="Could not locate a property"):
        session.query(Author).with_parent(session.get(Post, 3).author)
