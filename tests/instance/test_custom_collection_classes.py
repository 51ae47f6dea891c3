"""Collection classes of the program's own (``datamapper.collections.collection``
decorators, or a list-like class used as is): members added and removed through
their methods reach history, backrefs and the flush; loads fill them through the
appender without events.  Rows are read back on a separate connection."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, relationship
from datamapper.attributes import get_history
from datamapper.collections import collection
from datamapper.exc import ArgumentError


class Bag:
    """Decorated roles with names of their own, and methods that add/remove."""

    def __init__(self):
        self.items = []

    @collection.appender
    def put(self, item):
        self.items.append(item)

    @collection.remover
    def take(self, item):
        self.items.remove(item)

    @collection.iterator
    def each(self):
        return iter(self.items)

    @collection.adds(1)
    def put_first(self, item):
        self.items.insert(0, item)

    @collection.removes_return()
    def take_last(self):
        return self.items.pop()

    @collection.replaces(2)
    def swap(self, index, item):
        old, self.items[index] = self.items[index], item
        return old

    @collection.internally_instrumented
    def put_many(self, items):
        for item in items:
            self.put(item)

    def __len__(self):
        return len(self.items)


class ListLike:
    """No decorators: used because it looks like a list."""

    def __init__(self):
        self.data = []

    def append(self, item):
        self.data.append(item)

    def remove(self, item):
        self.data.remove(item)

    def insert(self, index, item):
        self.data.insert(index, item)

    def pop(self, index=-1):
        return self.data.pop(index)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self.data[index]

    def __setitem__(self, index, value):
        self.data[index] = value

    def __delitem__(self, index):
        del self.data[index]

    def __iter__(self):
        return iter(self.data)


@pytest.fixture
def classes(Base, engine):
    def build(collection_class):
        class Parent(Base):
            __tablename__ = "cc_parents"
            id = Column(Integer, primary_key=True)
            kids = relationship("Kid", collection_class=collection_class,
                                back_populates="parent", cascade="all, delete-orphan",
                                order_by="Kid.id")

        class Kid(Base):
            __tablename__ = "cc_kids"
            id = Column(Integer, primary_key=True)
            name = Column(String(20))
            parent_id = Column(Integer, ForeignKey("cc_parents.id"))
            parent = relationship(Parent, back_populates="kids")

        Base.metadata.create_all(engine)
        return Parent, Kid
    return build


def _names(coll):
    return [k.name for k in coll]


def test_decorated_methods_report_adds_and_removes(classes, engine, read_rows):
    Parent, Kid = classes(Bag)
    p = Parent(id=1)
    a, b, c, d = (Kid(id=i, name=n) for i, n in enumerate("abcd", 1))
    p.kids.put(a)
    p.kids.put_first(b)
    p.kids.put_many([c])  # internally instrumented: put() reports c once
    assert _names(p.kids) == ["b", "a", "c"]
    assert a.parent is p and b.parent is p and c.parent is p  # backrefs
    with Session(engine) as s:
        s.add(p)
        s.commit()
        assert read_rows("SELECT id, parent_id FROM cc_kids ORDER BY id") == \
            [(1, 1), (2, 1), (3, 1)]
        assert _names(p.kids) == ["a", "b", "c"]  # loaded again, in order
        gone = p.kids.take_last()  # removes_return: c leaves (delete-orphan)
        assert gone is c and c.parent is None
        old = p.kids.swap(0, d)  # replaces: d comes, a goes
        assert old is a
        assert set(get_history(p, "kids").added) == {d}
        assert set(get_history(p, "kids").deleted) == {a, c}
        p.kids.take(b)
        s.commit()
    assert read_rows("SELECT id, parent_id FROM cc_kids ORDER BY id") == [(4, 1)]
    with Session(engine) as s:
        loaded = s.get(Parent, 1)
        assert isinstance(loaded.kids, Bag)
        assert _names(loaded.kids) == ["d"]  # filled through put(), without events
        assert not get_history(loaded, "kids").added


@pytest.mark.parametrize("factory", ["class", "callable"])
def test_list_like_class_without_decorators(classes, engine, read_rows, factory):
    Parent, Kid = classes(ListLike if factory == "class" else (lambda: ListLike()))
    with Session(engine) as s:
        p = Parent(id=1)
        kids = [Kid(id=i, name=str(i)) for i in range(1, 7)]
        p.kids.append(kids[0])
        p.kids.extend(kids[1:4])
        p.kids.insert(0, kids[4])
        p.kids[1:3] = [kids[5]]  # 0 and 1 leave, 5 comes
        del p.kids[0]  # 4 leaves
        assert _names(p.kids) == ["6", "3", "4"]
        assert kids[0].parent is None and kids[5].parent is p
        s.add(p)
        s.commit()
        assert p.kids.pop() is kids[5]  # loaded again, ordered by id: 3, 4, 6
        s.commit()
    assert read_rows("SELECT id FROM cc_kids ORDER BY id") == [(3,), (4,)]


def test_class_without_roles_is_refused(classes):
    class Nothing:
        def __iter__(self):
            return iter(())

    Parent, _Kid = classes(Nothing)
    with pytest.raises(ArgumentError, match="no appender or remover"):
        Parent().kids
