"""Arguments of relationship() checked at configure time: strings are evaluated only
when they are the whole argument, join conditions must be SQL expressions,
back_populates must name the reverse relationship, ``remote()`` on the parent's own
columns of a non self-referential relationship is reported."""

import warnings

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, select

from datamapper import Session, clear_mappers, configure_mappers, exc, registry, relationship


@pytest.fixture(autouse=True)
def _no_broken_mappings_left():
    yield
    clear_mappers()  # a mapping refused at configure time must not reach later tests


def _pair(Base, **kw):
    class C1(Base):
        __tablename__ = "c1"
        id = Column(Integer, primary_key=True)

    class C2(Base):
        __tablename__ = "c2"
        id = Column(Integer, primary_key=True)
        c1id = Column(ForeignKey("c1.id"))
        c1 = relationship(C1, **kw)

    return C1, C2


@pytest.mark.parametrize("argname, arg", [
    ("remote_side", ["c1.id"]),
    ("remote_side", ["id"]),
    ("foreign_keys", ["c1id"]),
    ("foreign_keys", ["C2.c1id"]),
    ("order_by", ["id"]),
])
def test_a_string_inside_a_list_is_not_evaluated(Base, argname, arg):
    _pair(Base, **{argname: arg})
    with pytest.raises(exc.ArgumentError) as ei:
        configure_mappers()
    msg = str(ei.value)
    assert "C2.c1" in msg
    assert f"Column expression expected for argument '{argname}'; got {arg[0]!r}" in msg


def test_a_whole_string_argument_is_evaluated(Base, engine):
    C1, C2 = _pair(Base, foreign_keys="C2.c1id", order_by="C1.id")
    configure_mappers()
    assert C2.c1.property.local_columns == {C2.__table__.c.c1id}
    assert C2.c1.property.order_by == [C1.__table__.c.id]


@pytest.mark.parametrize("pj", [False, True, "x" == "y"])
def test_primaryjoin_that_is_not_an_expression_is_refused(Base, pj):
    _pair(Base, primaryjoin=pj)
    with pytest.raises(exc.ArgumentError, match=r"C2\.c1: primaryjoin .* is not a SQL "):
        configure_mappers()


def test_property_of_a_class_attribute_configures_the_mappers():
    reg = registry()
    m = MetaData()
    t1 = Table("t1", m, Column("id", Integer, primary_key=True),
               Column("foo_id", Integer, ForeignKey("t2.nonexistent_id")))
    Table("t2", m, Column("id", Integer, primary_key=True))
    t3 = Table("t3", m, Column("id", Integer, primary_key=True),
               Column("t1id", Integer, ForeignKey("t1.id")))

    class C1:
        pass

    class C2:
        pass

    reg.map_imperatively(C1, t1, properties={"c2": relationship(C2)})
    reg.map_imperatively(C2, t3)
    # the broken foreign key of t1 (to a missing column) plays no part in this join
    assert C1.c2.property.primaryjoin.compare(t1.c.id == t3.c.t1id)


@pytest.mark.parametrize("how", ["annotation", "remote_side"])
def test_remote_mark_on_a_parent_column_warns(Base, engine, how):
    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        if how == "annotation":
            bs = relationship("B", primaryjoin="remote(A.id) == B.a_id")
        else:
            bs = relationship("B", remote_side="A.id")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("a.id"))

    with pytest.warns(exc.SAWarning, match=r"Expression a\.id is marked as 'remote', but "
                      r"these column\(s\) are local to the local side\. "):
        configure_mappers()
    # the relationship still works as the plain one-to-many it is
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(A(id=1, bs=[B(id=1), B(id=2)]))
        s.commit()
        assert s.execute(select(B.__table__.c.a_id)).scalars().all() == [1, 1]


def test_remote_mark_on_a_self_referential_relationship_does_not_warn(Base):
    class Node(Base):
        __tablename__ = "node"
        id = Column(Integer, primary_key=True)
        parent_id = Column(ForeignKey("node.id"))
        parent = relationship("Node", remote_side="Node.id")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        configure_mappers()


def _users_addresses(Base, user_bp, address_bp, address_rel="user"):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        addresses = relationship("Address", back_populates=user_bp)

    class Dingaling(Base):
        __tablename__ = "dingalings"
        id = Column(Integer, primary_key=True)

    class Address(Base):
        __tablename__ = "addresses"
        id = Column(Integer, primary_key=True)
        user_id = Column(ForeignKey("users.id"))
        dingaling_id = Column(ForeignKey("dingalings.id"))
        if address_rel == "dingaling":
            dingaling = relationship("Dingaling", back_populates=address_bp)
        elif address_rel == "users":
            users = relationship("User", back_populates=address_bp)
        else:
            user = relationship("User", back_populates=address_bp(User)
                                if callable(address_bp) and form_is_fn(address_bp)
                                else address_bp)

    return User, Address


def form_is_fn(bp):
    return getattr(bp, "_takes_user", False)


@pytest.mark.parametrize("form", ["callable_str", "attribute", "callable_attribute"])
def test_back_populates_given_as_attribute_or_callable(Base, engine, form):
    if form == "callable_str":
        ubp, abp = (lambda: "user"), (lambda: "addresses")
    elif form == "callable_attribute":
        ubp, abp = (lambda: Address.user), (lambda: User.addresses)
    else:  # the attribute itself, as the class defined first offers it

        def abp(User):
            return User.addresses

        abp._takes_user = True
        ubp = "user"
    User, Address = _users_addresses(Base, ubp, abp)
    configure_mappers()
    u = User(name="u1")
    a = Address()
    u.addresses.append(a)
    assert a.user is u
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(u)
        s.commit()
        assert s.execute(select(Address.__table__.c.user_id)).scalars().all() == [u.id]


def test_back_populates_naming_no_attribute_is_an_invalid_request(Base):
    _users_addresses(Base, "userr", "addresses")
    with pytest.raises(exc.InvalidRequestError, match=r"back_populates='userr'"):
        configure_mappers()


def test_back_populates_naming_a_column_is_an_invalid_request(Base):
    _users_addresses(Base, "user_id", "addresses", address_rel="users")
    with pytest.raises(exc.InvalidRequestError, match=r"Address.user_id.* not a relationship"):
        configure_mappers()


def test_back_populates_naming_a_relationship_to_another_class_is_refused(Base):
    _users_addresses(Base, "dingaling", None, address_rel="dingaling")
    with pytest.raises(exc.ArgumentError,
                       match=r"User.addresses.*Address.dingaling.*Dingaling.*not User"):
        configure_mappers()


@pytest.mark.parametrize("value", [object(), 5])
def test_back_populates_of_a_wrong_type_is_refused(Base, value):
    _users_addresses(Base, (lambda: value), "addresses")
    with pytest.raises(exc.ArgumentError, match=r"User.addresses: back_populates=.* is neither"):
        configure_mappers()


def _foo_bar(Base, fk=False, **kw):
    foos = Table("foos", Base.metadata, Column("id", Integer, primary_key=True),
                 Column("fid", Integer))
    bars = Table("bars", Base.metadata, Column("id", Integer, primary_key=True),
                 Column("fid", ForeignKey("foos.id") if fk else Integer))

    class Foo:
        pass

    class Bar:
        pass

    kw = {k: (v(foos, bars) if callable(v) else v) for k, v in kw.items()}
    Base.registry.map_imperatively(Foo, foos, properties={"bars": relationship(Bar, **kw)})
    Base.registry.map_imperatively(Bar, bars)
    return Foo, Bar


def test_no_foreign_key_between_the_tables_is_a_no_foreign_keys_error(Base):
    _foo_bar(Base)
    with pytest.raises(exc.NoForeignKeysError, match=r"Foo\.bars.*no foreign key"):
        configure_mappers()


def test_no_foreign_key_to_the_secondary_table_is_a_no_foreign_keys_error(Base):
    Table("foobars", Base.metadata, Column("fid", Integer), Column("bid", Integer))
    _foo_bar(Base, secondary="foobars")
    with pytest.raises(exc.NoForeignKeysError, match=r"Foo\.bars.*foobars"):
        configure_mappers()


def test_foreign_keys_on_both_sides_of_the_join_is_ambiguous(Base):
    _foo_bar(Base, primaryjoin=lambda foos, bars: foos.c.id == bars.c.fid,
             foreign_keys=lambda foos, bars: [foos.c.id, bars.c.fid])
    with pytest.raises(exc.ArgumentError, match=r"Foo\.bars.*direction.*both"):
        configure_mappers()


@pytest.mark.parametrize("fk_side", ["bar", "foo"])
def test_remote_side_naming_both_sides_is_ambiguous(Base, fk_side):
    _foo_bar(Base, primaryjoin=lambda foos, bars: foos.c.id == bars.c.fid,
             foreign_keys=lambda foos, bars: [bars.c.fid if fk_side == "bar" else foos.c.id],
             remote_side=lambda foos, bars: [foos.c.id, bars.c.fid],
             viewonly=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc.ArgumentError, match=r"Foo\.bars.*remote"):
            configure_mappers()


def test_secondary_string_is_a_table_name_not_an_expression(Base):
    Table("c", Base.metadata, Column("a_id", ForeignKey("a.id")),
          Column("b_id", ForeignKey("b.id")))

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", secondary="c.c.a_id.table")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)

    with pytest.raises(exc.InvalidRequestError, match=r"A\.bs.*'c\.c\.a_id\.table'"):
        configure_mappers()


def test_secondary_string_may_name_a_schema_qualified_table(Base):
    Table("links", Base.metadata, Column("a_id", ForeignKey("a.id")),
          Column("b_id", ForeignKey("b.id")), schema="other")

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", secondary="other.links")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)

    configure_mappers()
    assert A.bs.property.secondary is Base.metadata.tables["other.links"]
