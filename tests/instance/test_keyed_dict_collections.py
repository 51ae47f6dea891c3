"""Dictionary collections keyed by their members (``attribute_keyed_dict``,
``column_keyed_dict``, ``keyfunc_mapping``): members the ORM adds (loads, backrefs,
``set()``) are filed under the key their function gives, ``d[key] = obj`` and
``del d[key]`` are changes the flush writes like any collection change, and replacing
the member under a key with delete-orphan deletes the old one."""

import warnings

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import (
    Mapped,
    attribute_keyed_dict,
    attribute_mapped_collection,
    collections,
    column_keyed_dict,
    exc,
    keyfunc_mapping,
    mapped_column,
    relationship,
)


def _models(Base, engine, make_cc, cascade="all, delete-orphan"):
    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)
        keyword = Column(String(30))
        text = Column(String(50))
        item_id = Column(Integer, ForeignKey("items.id"))

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        notes = relationship(Note, collection_class=make_cc(Note), cascade=cascade,
                             backref="item")

    Base.metadata.create_all(engine)
    return Item, Note


KINDS = {
    "attribute": lambda Note: attribute_keyed_dict("keyword"),
    "column": lambda Note: column_keyed_dict(Note.__table__.c.keyword),
    "keyfunc": lambda Note: keyfunc_mapping(lambda n: n.keyword),
    "legacy_name": lambda Note: attribute_mapped_collection("keyword"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_keyed_dict_persists_and_loads_by_key(Base, engine, make_session, read_rows, kind):
    Item, Note = _models(Base, engine, KINDS[kind])
    s = make_session()
    item = Item(id=1)
    item.notes["a"] = Note(keyword="a", text="first")
    item.notes["b"] = Note(keyword="b", text="second")
    s.add(item)
    s.commit()
    assert read_rows(Note.__table__) == [(1, "a", "first", 1), (2, "b", "second", 1)]
    s.close()
    s = make_session()
    item = s.get(Item, 1)
    assert set(item.notes) == {"a", "b"}
    assert item.notes["b"].text == "second"
    del item.notes["a"]  # delete-orphan: the row goes
    item.notes.set(Note(keyword="c", text="third"))
    s.commit()
    assert read_rows(Note.__table__) == [(2, "b", "second", 1), (3, "c", "third", 1)]


def test_replacing_the_member_under_a_key_orphans_the_old_one(Base, engine, make_session,
                                                              read_rows, sql_log):
    Item, Note = _models(Base, engine, KINDS["attribute"])
    s = make_session()
    item = Item(id=1, notes={"a": Note(keyword="a", text="old")})
    s.add(item)
    s.commit()
    collections.collection_adapter(item.notes).append_with_event(Note(keyword="a", text="new"))
    sql_log.clear()
    s.commit()
    assert len(sql_log.matching("DELETE FROM notes")) == 1
    assert read_rows(Note.__table__) == [(2, "a", "new", 1)]
    assert list(collections.collection_adapter(item.notes)) == [item.notes["a"]]


def test_backref_files_member_under_its_key(Base, engine, make_session, read_rows):
    Item, Note = _models(Base, engine, KINDS["attribute"], cascade="save-update")
    s = make_session()
    item = Item(id=1)
    n = Note(keyword="k", text="t", item=item)
    assert item.notes == {"k": n}
    s.add(item)
    s.commit()
    n.item = None
    assert item.notes == {}
    s.commit()
    assert read_rows(Note.__table__) == [(1, "k", "t", None)]


def test_unpopulated_key_raises_or_is_left_out(Base, engine):
    Item, Note = _models(Base, engine, KINDS["attribute"])
    item = Item()
    with pytest.raises(exc.InvalidRequestError, match="keyword"):
        Note(item=item)  # the backref files it, but it has no key yet
    assert item.notes == {}


def test_ignore_unpopulated_attribute_leaves_member_out(Base, engine, make_session,
                                                        read_rows):
    Item, Note = _models(
        Base, engine,
        lambda Note: attribute_keyed_dict("keyword", ignore_unpopulated_attribute=True))
    s = make_session()
    item = Item(id=1)
    n = Note(item=item)
    assert item.notes == {}
    item.notes["explicit"] = n
    assert item.notes == {"explicit": n}
    s.add(item)
    s.commit()
    assert read_rows(Note.__table__) == [(1, None, None, 1)]


def test_none_key_warns(Base, engine):
    Item, Note = _models(Base, engine, KINDS["keyfunc"])
    item = Item()
    with pytest.warns(exc.SAWarning, match="None"):
        item.notes.set(Note(keyword=None))
    assert list(item.notes) == [None]


def test_annotated_dict_relationship(Base, engine, make_session, read_rows):
    class Tag(Base):
        __tablename__ = "tags"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(20))
        post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))

    class Post(Base):
        __tablename__ = "posts"
        id: Mapped[int] = mapped_column(primary_key=True)
        tags: Mapped[dict[str, "Tag"]] = relationship(
            collection_class=attribute_keyed_dict("name"))

    Base.metadata.create_all(engine)
    s = make_session()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = Post(id=1, tags={"x": Tag(name="x")})
    s.add(p)
    s.commit()
    assert read_rows(Tag.__table__) == [(1, "x", 1)]
    s.expire_all()
    assert list(p.tags) == ["x"]


def test_keyfunc_of_column_keyed_dict_reads_mapped_attributes(Base):
    class Foo(Base):
        __tablename__ = "foo"
        id = Column(Integer, primary_key=True)
        other = Column(Integer)

    assert column_keyed_dict(Foo.id)().keyfunc(Foo(id=3)) == 3
    assert column_keyed_dict([Foo.id, Foo.other])().keyfunc(Foo(id=3, other=12)) == (3, 12)
    with pytest.raises(exc.ArgumentError, match="column_keyed_dict"):
        column_keyed_dict("id")


@pytest.mark.parametrize("kind", ["attribute", "column"])
def test_removing_a_member_whose_key_is_unpopulated_raises_unless_ignored(Base, engine,
                                                                           kind):
    # as SQLAlchemy documents for ignore_unpopulated_attribute: by default an operation
    # on a member whose key attribute has no value raises; ignored, the member is let go
    ignore = kind == "column"  # one of each
    make = (lambda Note: attribute_keyed_dict("keyword")) if kind == "attribute" else (
        lambda Note: column_keyed_dict(Note.__table__.c.keyword,
                                       ignore_unpopulated_attribute=True))
    Item, Note = _models(Base, engine, make, cascade="save-update")
    item = Item()
    n = Note(keyword="bar")
    item.notes["bar"] = n
    del n.__dict__["keyword"]
    if ignore:
        n.item = None
        assert item.notes == {}
    else:
        with pytest.raises(exc.InvalidRequestError, match=r"Note\.item.*'keyword'"):
            n.item = None
        assert item.notes == {"bar": n}


def _by_id(obj):
    return obj.id


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_keyed_dict_classes_and_dictionaries_pickle(Base, protocol):
    """The classes the keyed-dict functions make at run time pickle as the call that
    makes them: the copy keys members the same way (columns of an inherited mapper and
    of a table in a schema too), again after a second round trip."""
    import pickle

    from sqlalchemy import Table

    class Foo(Base):
        __tablename__ = "foo"
        id = Column(Integer, primary_key=True)
        b = Column(String(20))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "foo"}

    bar = Table("bar", Base.metadata, Column("id", Integer, ForeignKey("foo.id"),
                                            primary_key=True),
                Column("bat_id", Integer), schema="x")

    class Bar(Foo):
        __table__ = bar
        bar_id = bar.c.id
        __mapper_args__ = {"polymorphic_identity": "bar"}

    obj = Bar(id=1, bar_id=1, bat_id=3, b="bee")
    specs = [
        (column_keyed_dict(Foo.id), 1),
        (column_keyed_dict([Bar.bar_id, Bar.bat_id]), (1, 3)),
        (column_keyed_dict(bar.c.bat_id), 3),
        (attribute_keyed_dict("b"), "bee"),
        (keyfunc_mapping(_by_id), 1),
    ]
    for cls, key in specs:
        d = cls()
        d[key] = "member"  # the test's local classes can't be pickled: a stand-in
        for _ in range(2):
            d = pickle.loads(pickle.dumps(d, protocol))
            assert d.keyfunc(obj) == key
            assert d == {key: "member"}
            assert isinstance(d, collections.KeyFuncDict)


@pytest.mark.parametrize("how", ["subclass", "factory"])
def test_keyfuncdict_subclass_given_its_key_function_in_init(Base, engine, make_session,
                                                             read_rows, how):
    class ByKeyword(collections.KeyFuncDict):
        def __init__(self, *args):
            super().__init__(lambda note: note.keyword, *args)

    class ByFunction(collections.KeyFuncDict):
        pass

    def make_cc(_note):
        if how == "subclass":
            return ByKeyword
        return lambda: ByFunction(lambda note: note.keyword)

    Item, Note = _models(Base, engine, make_cc)
    s = make_session()
    item = Item(id=1)
    item.notes.set(Note(id=1, keyword="a", text="x"))
    item.notes["b"] = Note(id=2, keyword="b", text="y")
    s.add(item)
    s.commit()
    s.close()
    assert read_rows(Note.__table__) == [(1, "a", "x", 1), (2, "b", "y", 1)]
    loaded = make_session().get(Item, 1)
    assert sorted(loaded.notes) == ["a", "b"] and loaded.notes["b"].text == "y"
    assert loaded.notes.keyfunc(loaded.notes["a"]) == "a"
    with pytest.raises(exc.ArgumentError, match="must be callable"):
        ByFunction("not a function")
