"""``association_proxy()``: list, set, dictionary and scalar views of a relationship's
objects, written through to the database, and the SQL criteria built on the class.

Every test reads the rows back on a separate connection (``read_rows``) or counts the
objects a query returns, on each backend.
"""

from __future__ import annotations

import pickle

import pytest
import sqlalchemy as sa
from sqlalchemy import ForeignKey, String, select

from datamapper import (
    AssociationProxy,
    AssociationProxyInstance,
    DeclarativeBase,
    Mapped,
    Session,
    association_proxy,
    attribute_keyed_dict,
    mapped_column,
    relationship,
)
from datamapper.exc import ArgumentError, InvalidRequestError


@pytest.fixture
def M(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "ap_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        kws: Mapped[list[UserKeyword]] = relationship(
            back_populates="user", cascade="all, delete-orphan", order_by="UserKeyword.id")
        keywords: AssociationProxy[list[str]] = association_proxy(
            "kws", "keyword", creator=lambda k: UserKeyword(keyword=k))
        tags: Mapped[set[Tag]] = relationship(cascade="all, delete-orphan")
        tag_names: AssociationProxy[set[str]] = association_proxy(
            "tags", "name", creator=lambda n: Tag(name=n))
        prefs: Mapped[dict[str, Pref]] = relationship(
            collection_class=attribute_keyed_dict("key"), cascade="all, delete-orphan")
        pref_values: AssociationProxy[dict[str, str]] = association_proxy(
            "prefs", "value", creator=lambda k, v: Pref(key=k, value=v))
        profile: Mapped[Profile | None] = relationship(cascade="all, delete-orphan")
        bio: AssociationProxy[str | None] = association_proxy(
            "profile", "bio", creator=lambda b: Profile(bio=b))
        # through the association objects to the Keyword objects
        keyword_objects: AssociationProxy[list[Keyword]] = association_proxy(
            "kws", "kw_obj", creator=lambda kw: UserKeyword(keyword=kw.word, kw_obj=kw))

    class Keyword(Base):
        __tablename__ = "ap_keyword_objs"
        id: Mapped[int] = mapped_column(primary_key=True)
        word: Mapped[str] = mapped_column(String(30))

    class UserKeyword(Base):
        __tablename__ = "ap_user_keywords"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("ap_users.id"))
        keyword: Mapped[str] = mapped_column(String(30))
        kw_obj_id: Mapped[int | None] = mapped_column(ForeignKey("ap_keyword_objs.id"))
        kw_obj: Mapped[Keyword | None] = relationship()
        user: Mapped[User] = relationship(back_populates="kws")
        user_name: AssociationProxy[str] = association_proxy("user", "name")

    class Tag(Base):
        __tablename__ = "ap_tags"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("ap_users.id"))
        name: Mapped[str] = mapped_column(String(30))

    class Pref(Base):
        __tablename__ = "ap_prefs"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("ap_users.id"))
        key: Mapped[str] = mapped_column(String(30))
        value: Mapped[str] = mapped_column(String(30))

    class Profile(Base):
        __tablename__ = "ap_profiles"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("ap_users.id"))
        bio: Mapped[str | None] = mapped_column(String(30))

    metadata.create_all(engine)

    class NS:
        pass

    ns = NS()
    for cls in (User, Keyword, UserKeyword, Tag, Pref, Profile):
        setattr(ns, cls.__name__, cls)
    return ns


def _user_keywords(read_rows, M):
    return [r[0] for r in read_rows(
        "SELECT keyword FROM ap_user_keywords ORDER BY id")]


def test_list_proxy_appends_create_rows_and_reads_values(M, engine, read_rows):
    with Session(engine) as s:
        u = M.User(name="ann")
        u.keywords.append("a")
        u.keywords.extend(["b", "c"])
        u.keywords.insert(0, "z")
        s.add(u)
        s.commit()
        assert u.keywords == ["z", "a", "b", "c"]  # reloaded in id (= insert) order
        assert [k.keyword for k in u.kws] == list(u.keywords)
        assert u.keywords is u.keywords
    assert sorted(_user_keywords(read_rows, M)) == ["a", "b", "c", "z"]


def test_list_proxy_edits_write_through(M, engine, read_rows):
    with Session(engine) as s:
        u = M.User(name="ann", kws=[M.UserKeyword(keyword=k) for k in "abcd"])
        s.add(u)
        s.commit()
        u.keywords[0] = "A"          # sets the value on the existing object
        u.keywords.remove("b")       # removes the object (delete-orphan)
        del u.keywords[-1]
        assert u.keywords.pop() == "c"
        assert "A" in u.keywords and "b" not in u.keywords
        assert u.keywords.count("A") == 1 and u.keywords.index("A") == 0
        s.commit()
    assert _user_keywords(read_rows, M) == ["A"]


def test_list_proxy_slices_sort_and_reverse(M, engine, read_rows):
    with Session(engine) as s:
        u = M.User(name="ann")
        u.keywords = ["c", "a", "b"]
        u.keywords.sort()
        assert u.keywords == ["a", "b", "c"]
        u.keywords.reverse()
        assert u.keywords[:2] == ["c", "b"]
        u.keywords[1:2] = ["x", "y"]
        assert u.keywords == ["c", "x", "y", "a"]
        u.keywords += ["q"]
        assert u.keywords == ["c", "x", "y", "a", "q"]
        s.add(u)
        s.commit()
    assert sorted(_user_keywords(read_rows, M)) == ["a", "c", "q", "x", "y"]


def test_assigning_a_list_replaces_the_collection(M, engine, read_rows):
    with Session(engine) as s:
        u = M.User(name="ann", keywords=["a", "b"])
        s.add(u)
        s.commit()
        u.keywords = ["c"]
        u.keywords = u.keywords  # the view itself: nothing changes
        s.commit()
        assert u.keywords == ["c"]
    assert _user_keywords(read_rows, M) == ["c"]


def test_set_proxy(M, engine, read_rows):
    with Session(engine) as s:
        u = M.User(name="ann")
        u.tag_names.add("red")
        u.tag_names.add("red")  # already there: no second object
        u.tag_names |= {"blue", "green"}
        s.add(u)
        s.commit()
        assert u.tag_names == {"red", "blue", "green"}
        red_id = next(t.id for t in u.tags if t.name == "red")
        u.tag_names.discard("blue")
        u.tag_names = {"red", "black"}  # keeps red's row, removes green, adds black
        s.commit()
    rows = read_rows("SELECT id, name FROM ap_tags ORDER BY name")
    assert [r[1] for r in rows] == ["black", "red"]
    assert rows[1][0] == red_id  # red kept its row


def test_dict_proxy(M, engine, read_rows):
    with Session(engine) as s:
        u = M.User(name="ann")
        u.pref_values["color"] = "red"
        u.pref_values.update(size="L")
        s.add(u)
        s.commit()
        assert u.pref_values == {"color": "red", "size": "L"}
        u.pref_values["color"] = "blue"   # the existing Pref's value
        del u.pref_values["size"]
        s.commit()
        assert dict(u.pref_values) == {"color": "blue"}
        assert u.pref_values.get("nope", 1) == 1
    assert read_rows(M.Pref.__table__) == [(1, 1, "color", "blue")]


def test_scalar_proxy_creates_sets_and_reads(M, engine, read_rows):
    with Session(engine) as s:
        u = M.User(name="ann")
        assert u.bio is None
        u.bio = None          # no Profile made for None
        assert u.profile is None
        u.bio = "hello"       # makes a Profile
        s.add(u)
        s.commit()
        u.bio = "bye"         # sets it on the same Profile
        s.commit()
        assert u.bio == "bye"
    assert read_rows("SELECT id, bio FROM ap_profiles") == [(1, "bye")]


def test_many_to_one_scalar_proxy_writes_the_parent(M, engine, read_rows):
    with Session(engine) as s:
        u = M.User(name="ann", keywords=["a"])
        s.add(u)
        s.commit()
        uk = u.kws[0]
        assert uk.user_name == "ann"
        uk.user_name = "bob"
        s.commit()
    assert read_rows("SELECT name FROM ap_users") == [("bob",)]


def test_object_valued_proxy(M, engine, read_rows):
    with Session(engine) as s:
        k1, k2 = M.Keyword(word="k1"), M.Keyword(word="k2")
        u = M.User(name="ann")
        u.keyword_objects.append(k1)
        u.keyword_objects.append(k2)
        s.add(u)
        s.commit()
        assert u.keyword_objects == [k1, k2]
        found = s.scalars(select(M.User).where(M.User.keyword_objects.contains(k2))).all()
        assert found == [u]
        found = s.scalars(select(M.User).where(
            M.User.keyword_objects.any(M.Keyword.word == "k1"))).all()
        assert found == [u]
        assert s.scalars(select(M.User).where(
            M.User.keyword_objects.any(word="nope"))).all() == []


def test_class_level_criteria(M, engine):
    with Session(engine) as s:
        s.add_all([M.User(name="ann", keywords=["a", "b"], bio="x"),
                   M.User(name="bob", keywords=["c"])])
        s.commit()

        def names(criterion):
            return sorted(u.name for u in s.scalars(select(M.User).where(criterion)))

        assert names(M.User.keywords.contains("b")) == ["ann"]
        assert names(M.User.keywords == "c") == ["bob"]
        assert names(M.User.keywords.any(M.UserKeyword.keyword.in_(["a", "c"]))) == ["ann", "bob"]
        assert names(M.User.keywords.any()) == ["ann", "bob"]
        assert names(M.User.keywords.like("c%")) == ["bob"]
        assert names(M.User.keywords.in_(["b"])) == ["ann"]
        assert names(M.User.bio == "x") == ["ann"]
        assert names(M.User.bio == None) == ["bob"]  # noqa: E711  (SQL: no profile or NULL)
        assert names(M.User.bio != "x") == []
        assert names(M.User.bio.has()) == ["ann"]
        assert sorted(uk.keyword for uk in s.scalars(
            select(M.UserKeyword).where(M.UserKeyword.user_name == "ann"))) == ["a", "b"]
        # through Query too
        assert [u.name for u in s.query(M.User).filter(M.User.keywords.contains("a"))] == ["ann"]


def test_local_and_remote_attr_join(M, engine):
    with Session(engine) as s:
        s.add(M.User(name="ann", keywords=["a"]))
        s.commit()
        proxy = M.User.keywords
        assert isinstance(proxy, AssociationProxyInstance)
        assert proxy.attr == (proxy.local_attr, proxy.remote_attr)
        rows = s.execute(select(M.User.name, proxy.remote_attr).join(proxy.local_attr)).all()
        assert [tuple(r) for r in rows] == [("ann", "a")]
        assert proxy.scalar is False and M.User.bio.scalar is True
        assert proxy.target_class is M.UserKeyword and proxy.owning_class is M.User


def test_misuse_raises_named_errors(M, engine):
    with pytest.raises(InvalidRequestError, match="use has"):
        M.User.bio.any()
    with pytest.raises(InvalidRequestError, match="use any"):
        M.User.keywords.has()
    with pytest.raises(ArgumentError, match="keyword criteria"):
        M.User.keywords.any(keyword="a")
    with pytest.raises(InvalidRequestError, match="column expression"):
        select(M.User.keywords)

    with pytest.raises(ArgumentError, match="name of a relationship"):
        association_proxy(M.User.kws, "keyword")  # type: ignore[arg-type]


def test_proxy_of_a_non_relationship_is_refused(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Thing(Base):
        __tablename__ = "ap_things"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(20))
        wrong: AssociationProxy[str] = association_proxy("name", "x")

    with pytest.raises(InvalidRequestError, match="Thing.name: it is a column attribute"):
        Thing().wrong  # noqa: B018


def test_view_follows_a_replaced_or_expired_collection(M, engine):
    with Session(engine) as s:
        u = M.User(name="ann", keywords=["a"])
        s.add(u)
        s.commit()
        view = u.keywords
        u.kws = [M.UserKeyword(keyword="b")]
        assert list(view) == ["b"]
        s.commit()  # expires u
        assert list(view) == ["b"]


def _module_level(*classes):
    # pickling finds classes by module and name: put these there (classes mapped at
    # import time would not survive another test's clear_mappers())
    for cls in classes:
        cls.__qualname__ = cls.__name__
        globals()[cls.__name__] = cls


def test_view_and_object_pickle(engine, metadata):
    class PickleBase(DeclarativeBase):
        pass

    PickleBase.registry.metadata = metadata

    class PickledOwner(PickleBase):
        __tablename__ = "ap_pickled_owners"
        id: Mapped[int] = mapped_column(primary_key=True)
        items: Mapped[list[PickledItem]] = relationship()
        names: AssociationProxy[list[str]] = association_proxy(
            "items", "name", creator=lambda n: PickledItem(name=n))

    class PickledItem(PickleBase):
        __tablename__ = "ap_pickled_items"
        id: Mapped[int] = mapped_column(primary_key=True)
        owner_id: Mapped[int] = mapped_column(ForeignKey("ap_pickled_owners.id"))
        name: Mapped[str] = mapped_column(String(20))

    _module_level(PickledOwner, PickledItem)
    metadata.create_all(engine)
    try:
        with Session(engine) as s:
            o = PickledOwner(names=["a", "b"])
            s.add(o)
            s.commit()
            view = o.names
            copied_view = pickle.loads(pickle.dumps(view))
            assert copied_view == ["a", "b"]
            copied_view.append("c")  # writes to its own (unpickled) owner
            assert o.names == ["a", "b"]
            copy = pickle.loads(pickle.dumps(o))
            assert copy.names == ["a", "b"]
    finally:  # a later test's annotations must not find these
        globals().pop("PickledOwner", None)
        globals().pop("PickledItem", None)


def test_default_creator_is_the_related_class(metadata, engine, read_rows):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata

    class Note(Base):
        __tablename__ = "ap_notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        owner_id: Mapped[int] = mapped_column(ForeignKey("ap_owners.id"))
        text: Mapped[str] = mapped_column(String(20))

        def __init__(self, text: str) -> None:
            self.text = text

    class Owner(Base):
        __tablename__ = "ap_owners"
        id: Mapped[int] = mapped_column(primary_key=True)
        notes: Mapped[list[Note]] = relationship()
        texts: AssociationProxy[list[str]] = association_proxy("notes", "text")

    metadata.create_all(engine)
    with Session(engine) as s:
        o = Owner()
        o.texts.append("hi")
        s.add(o)
        s.commit()
    assert read_rows(sa.text("SELECT text FROM ap_notes")) == [("hi",)]


def test_sqlalchemys_own_association_proxy_on_a_datamapper_model(metadata, engine, read_rows):
    from sqlalchemy.ext import associationproxy as sa_ap

    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Author(Base):
        __tablename__ = "ap_sa_authors"
        id: Mapped[int] = mapped_column(primary_key=True)
        books: Mapped[list[Book]] = relationship(order_by="Book.id")
        titles: sa_ap.AssociationProxy[list[str]] = sa_ap.association_proxy(
            "books", "title", creator=lambda t: Book(title=t))

    class Book(Base):
        __tablename__ = "ap_sa_books"
        id: Mapped[int] = mapped_column(primary_key=True)
        author_id: Mapped[int] = mapped_column(ForeignKey("ap_sa_authors.id"))
        title: Mapped[str] = mapped_column(String(30))

    metadata.create_all(engine)
    assert isinstance(Author.__dict__["titles"], AssociationProxy)
    with Session(engine) as s:
        a = Author(id=1)
        a.titles.append("Emma")
        a.titles.extend(["Persuasion"])
        s.add(a)
        s.commit()
        assert a.titles == ["Emma", "Persuasion"]
        assert s.scalars(select(Author.id).where(Author.titles.contains("Emma"))).all() == [1]
    assert read_rows(Book.__table__) == [(1, 1, "Emma"), (2, 1, "Persuasion")]
