"""Collections and backrefs in memory: every mutation tracked, both sides in step,
save-update cascade pulling objects into the session, lazy loading."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import attributes, exc, relationship


def test_backref_sets_scalar_when_appending_and_appends_when_setting(models):
    User, Address = models
    u = User(name="ed")
    a1 = Address(email="1")
    u.addresses.append(a1)
    assert a1.user is u
    a2 = Address(email="2")
    a2.user = u
    assert u.addresses == [a1, a2]
    a2.user = None
    assert u.addresses == [a1]


def test_moving_between_parents_updates_all_three_sides(models):
    User, Address = models
    u1, u2 = User(name="1"), User(name="2")
    a = Address(user=u1)
    a.user = u2
    assert u1.addresses == [] and u2.addresses == [a]


@pytest.mark.parametrize("mutate, expect_added, expect_deleted", [
    (lambda c, new: c.append(new), ["n"], []),
    (lambda c, new: c.extend([new]), ["n"], []),
    (lambda c, new: c.insert(0, new), ["n"], []),
    (lambda c, new: c.remove(c[0]), [], ["a"]),
    (lambda c, new: c.pop(), [], ["b"]),
    (lambda c, new: c.__delitem__(0), [], ["a"]),
    (lambda c, new: c.__delitem__(slice(0, 2)), [], ["a", "b"]),
    (lambda c, new: c.__setitem__(0, new), ["n"], ["a"]),
    (lambda c, new: c.__setitem__(slice(0, 1), [new]), ["n"], ["a"]),
    (lambda c, new: c.clear(), [], ["a", "b"]),
    (lambda c, new: c.__iadd__([new]), ["n"], []),
])
def test_every_list_mutation_is_tracked_and_flushed(models, session, read_rows, mutate,
                                                     expect_added, expect_deleted):
    User, Address = models
    u = User(name="u", addresses=[Address(email="a"), Address(email="b")])
    session.add(u)
    session.commit()
    coll = u.addresses
    new = Address(email="n")
    mutate(coll, new)
    hist = attributes.get_history(u, "addresses")
    assert sorted(a.email for a in hist.added) == expect_added
    assert sorted(a.email for a in hist.deleted) == expect_deleted
    assert session.is_modified(u)
    session.commit()
    owned = read_rows("SELECT email FROM addresses WHERE user_id IS NOT NULL ORDER BY email")
    expected = sorted(({"a", "b"} - set(expect_deleted)) | set(expect_added))
    assert [r[0] for r in owned] == expected


def test_replacing_whole_collection_writes_the_difference(models, session, read_rows,
                                                          sql_log):
    User, Address = models
    a, b = Address(email="a"), Address(email="b")
    u = User(name="u", addresses=[a, b])
    session.add(u)
    session.commit()
    c = Address(email="c")
    u.addresses = [b, c]
    assert a.user is None and c.user is u
    sql_log.clear()
    session.commit()
    assert read_rows("SELECT email FROM addresses WHERE user_id IS NOT NULL ORDER BY email"
                     ) == [("b",), ("c",)]


def test_wrong_class_in_collection_raises_and_changes_nothing(models, session):
    User, Address = models
    u = User(name="u")
    session.add(u)
    with pytest.raises(TypeError) as info:
        u.addresses.append(User(name="not an address"))
    assert "User.addresses" in str(info.value) and "Address" in str(info.value)
    assert isinstance(info.value, exc.InvalidRequestError)
    assert u.addresses == []
    with pytest.raises(TypeError):
        Address().user = Address()


def test_save_update_cascade_pulls_appended_and_assigned_objects_in(models, session):
    User, Address = models
    u = User(name="u")
    session.add(u)
    a = Address(email="x")
    u.addresses.append(a)
    assert a in session
    b = Address(email="y")
    b.user = u  # through the backref: cascade_backrefs defaults to True (documents)
    assert b in session


def test_cascade_backrefs_false_keeps_backref_assignment_out(Base, engine, make_session):
    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        items = relationship("Item", backref="order", cascade_backrefs=False)

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        order_id = Column(Integer, ForeignKey("orders.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    o = Order()
    s.add(o)
    i = Item()
    i.order = o
    assert i not in s
    assert o.items == [i]


def test_adding_parent_cascades_to_whole_loaded_graph(Base, engine, make_session, read_rows):
    class N(Base):
        __tablename__ = "n"
        id = Column(Integer, primary_key=True)
        parent_id = Column(Integer, ForeignKey("n.id"))
        kids = relationship("N")

    Base.metadata.create_all(engine)
    s = make_session()
    root = N(kids=[N(kids=[N()]), N()])
    s.add(root)
    assert len(s.new) == 4
    s.commit()
    assert len(read_rows("SELECT * FROM n")) == 4


def test_set_collection_mutations(Base, engine, make_session, read_rows):
    class S(Base):
        __tablename__ = "s"
        id = Column(Integer, primary_key=True)
        members = relationship("M", collection_class=set, backref="s")

    class M(Base):
        __tablename__ = "m"
        id = Column(Integer, primary_key=True)
        s_id = Column(Integer, ForeignKey("s.id"))
        name = Column(String(5))

    Base.metadata.create_all(engine)
    sess = make_session()
    x, y, z = M(name="x"), M(name="y"), M(name="z")
    owner = S(members={x, y})
    sess.add(owner)
    sess.commit()
    owner.members.discard(x)
    owner.members |= {z}
    assert x.s is None and z.s is owner
    sess.commit()
    assert read_rows("SELECT name FROM m WHERE s_id IS NOT NULL ORDER BY name") == [
        ("y",), ("z",)]


# -- lazy loading -------------------------------------------------------------------------------
def test_many_to_one_in_identity_map_loads_without_sql(models, session, sql_log):
    User, Address = models
    session.add(User(name="u", addresses=[Address(email="a")]))
    session.commit()
    user = session.query(User).one()
    addr = session.query(Address).one()
    sql_log.clear()
    assert addr.user is user
    assert sql_log.count == 0


def test_one_to_many_loads_with_one_select_in_order(models, session, sql_log):
    User, Address = models
    session.add(User(name="u", addresses=[Address(email=e) for e in "cab"]))
    session.commit()
    session.expire_all()
    u = session.query(User).one()
    sql_log.clear()
    assert [a.email for a in u.addresses] == ["c", "a", "b"]  # order_by Address.id
    assert sql_log.count == 1 and "addresses" in sql_log.statements[0]


def test_noload_and_raise_strategies(Base, engine, make_session, sql_log):
    class P(Base):
        __tablename__ = "p"
        id = Column(Integer, primary_key=True)
        quiet = relationship("K", lazy="noload")
        strict = relationship("K", lazy="raise", viewonly=True)

    class K(Base):
        __tablename__ = "k"
        id = Column(Integer, primary_key=True)
        p_id = Column(Integer, ForeignKey("p.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(P(quiet=[K()]))
    s.commit()
    p = s.query(P).one()
    sql_log.clear()
    assert p.quiet == []
    assert sql_log.count == 0
    with pytest.raises(exc.InvalidRequestError) as info:
        p.strict
    assert "P.strict" in str(info.value) and "raise" in str(info.value)


def test_unloaded_relationship_of_detached_object_raises(models, session):
    User, Address = models
    session.add(User(name="u", addresses=[Address(email="a")]))
    session.commit()
    u = session.query(User).one()
    session.expunge(u)
    with pytest.raises(exc.DetachedInstanceError) as info:
        u.addresses
    assert "addresses" in str(info.value) and "User" in str(info.value)


def test_backref_to_unloaded_collection_is_applied_when_it_loads(models, session):
    User, Address = models
    session.add(User(name="u", addresses=[Address(email="a")]))
    session.commit()
    u = session.query(User).one()
    with session.no_autoflush:
        b = Address(email="b")
        b.user = u  # u.addresses is not loaded yet
        assert sorted(a.email for a in u.addresses) == ["a", "b"]
    session.commit()
    session.expire_all()
    assert sorted(a.email for a in u.addresses) == ["a", "b"]


def test_many_to_many_lazy_load_and_contains_query(Base, engine, make_session):
    from sqlalchemy import Table
    Table("st", Base.metadata, Column("s_id", ForeignKey("students.id"), primary_key=True),
          Column("c_id", ForeignKey("courses.id"), primary_key=True))

    class Student(Base):
        __tablename__ = "students"
        id = Column(Integer, primary_key=True)
        name = Column(String(10))
        courses = relationship("Course", secondary="st", backref="students")

    class Course(Base):
        __tablename__ = "courses"
        id = Column(Integer, primary_key=True)
        title = Column(String(10))

    Base.metadata.create_all(engine)
    s = make_session()
    math, art = Course(title="math"), Course(title="art")
    s.add_all([Student(name="a", courses=[math, art]), Student(name="b", courses=[math])])
    s.commit()
    s.expire_all()
    a = s.query(Student).filter_by(name="a").one()
    assert sorted(c.title for c in a.courses) == ["art", "math"]
    assert sorted(st.name for st in math.students) == ["a", "b"]
    found = s.query(Student).filter(Student.courses.any(Course.title == "art")).all()
    assert [st.name for st in found] == ["a"]
    found = s.query(Student).filter(Student.courses.contains(art)).all()
    assert [st.name for st in found] == ["a"]


def test_query_join_along_relationship_and_has(models, session):
    User, Address = models
    session.add_all([User(name="ed", addresses=[Address(email="ed@x")]), User(name="jo")])
    session.commit()
    assert [u.name for u in session.query(User).join(User.addresses)
            .filter(Address.email.like("ed%")).all()] == ["ed"]
    assert [u.name for u in session.query(User).join("addresses").all()] == ["ed"]
    assert [a.email for a in session.query(Address).filter(
        Address.user.has(User.name == "ed")).all()] == ["ed@x"]
    ed = session.query(User).filter_by(name="ed").one()
    assert session.query(Address).filter(Address.user == ed).count() == 1


def test_rollback_restores_parent_collection_state(models, session):
    User, Address = models
    u = User(name="u", addresses=[Address(email="a")])
    session.add(u)
    session.commit()
    u.addresses.append(Address(email="new"))
    session.flush()
    session.rollback()
    assert [a.email for a in u.addresses] == ["a"]


def test_query_join_along_many_to_many(Base, engine, make_session):
    from sqlalchemy import Table
    Table("bt", Base.metadata, Column("b_id", ForeignKey("books.id"), primary_key=True),
          Column("a_id", ForeignKey("authors.id"), primary_key=True))

    class Book(Base):
        __tablename__ = "books"
        id = Column(Integer, primary_key=True)
        title = Column(String(10))
        authors = relationship("Author", secondary="bt")

    class Author(Base):
        __tablename__ = "authors"
        id = Column(Integer, primary_key=True)
        name = Column(String(10))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Book(title="b1", authors=[Author(name="x")]), Book(title="b2")])
    s.commit()
    rows = s.query(Book).join(Book.authors).filter(Author.name == "x").all()
    assert [b.title for b in rows] == ["b1"]


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda c, a: c.__delitem__(1), id="del-first-of-two"),
    pytest.param(lambda c, a: c.pop(1), id="pop-first-of-two"),
    pytest.param(lambda c, a: c.remove(a[1]), id="remove-one-of-two"),
    pytest.param(lambda c, a: c.__delitem__(slice(1, 2)), id="del-slice-one-of-two"),
    pytest.param(lambda c, a: c.__setitem__(1, c[2]), id="setitem-dup-over"),
])
def test_taking_out_one_of_two_occurrences_keeps_the_member(models, session, read_rows,
                                                            mutate):
    """A list may hold an object twice; taking one occurrence out leaves it a member:
    its backref still points at the parent and the flush keeps its foreign key."""
    User, Address = models
    a = [Address(id=i + 1, email=str(i)) for i in range(3)]
    u = User(id=1, name="u", addresses=list(a))
    session.add(u)
    session.commit()
    u.addresses.append(a[1])                  # a[1] twice now
    mutate(u.addresses, a)
    assert a[1] in u.addresses and a[1].user is u
    session.commit()
    rows = {r[0]: r[2] for r in read_rows(Address.__table__)}
    assert rows[2] == 1  # a[1]: still the user's


def test_swapping_two_members_by_tuple_assignment(models, session, read_rows):
    User, Address = models
    a = [Address(id=i + 1, email=str(i)) for i in range(3)]
    u = User(id=1, name="u", addresses=list(a))
    session.add(u)
    session.commit()
    u.addresses[1], u.addresses[2] = u.addresses[2], u.addresses[1]
    assert [x.id for x in u.addresses] == [1, 3, 2]
    assert a[1].user is u and a[2].user is u
    session.commit()
    assert [r[2] for r in read_rows(Address.__table__)] == [1, 1, 1]
