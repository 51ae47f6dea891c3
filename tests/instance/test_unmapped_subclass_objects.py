"""Objects of an unmapped subclass of a mapped class: as in SQLAlchemy, they hold and
report their mapped attributes (values, history, inspect()) by the mapped base class,
and every session operation refuses them with UnmappedClassError, before any SQL."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import attributes, inspect, registry, relationship
from datamapper.exc import UnmappedClassError


@pytest.fixture
def classes(engine):
    reg = registry()
    users = Table("users", reg.metadata, Column("id", Integer, primary_key=True),
                  Column("name", String(50)))
    addresses = Table("addresses", reg.metadata, Column("id", Integer, primary_key=True),
                      Column("email", String(50)),
                      Column("user_id", Integer, ForeignKey("users.id")))

    class User:
        pass

    class EarlySub(User):  # defined before the mapping
        pass

    class Address:
        pass

    reg.map_imperatively(User, users, properties={
        "addresses": relationship(Address, backref="user", order_by=addresses.c.id)})
    reg.map_imperatively(Address, addresses)

    class LateSub(User):  # defined after it
        pass

    class SubAddress(Address):
        pass

    reg.metadata.create_all(engine)
    yield User, EarlySub, LateSub, Address, SubAddress
    reg.dispose()


@pytest.mark.parametrize("which", ["early", "late"])
def test_attributes_of_an_unmapped_subclass_object_work_by_the_mapped_base(classes, which):
    User, EarlySub, LateSub, _, _ = classes
    sub = (EarlySub if which == "early" else LateSub)()
    assert sub.name is None
    sub.name = "foo"
    assert sub.name == "foo"
    assert attributes.get_history(sub, "name") == (["foo"], (), ())
    state = inspect(sub)
    assert state.transient
    assert state.attrs.name.history == (["foo"], (), ())
    assert state.attrs.name.value == "foo"
    attributes.set_committed_value(sub, "name", "bar")
    assert attributes.get_attribute(sub, "name") == "bar"
    assert attributes.get_history(sub, "name") == ((), ["bar"], ())
    attributes.set_attribute(sub, "name", "baz")
    assert attributes.get_history(sub, "name") == (["baz"], (), ["bar"])
    del sub.name
    assert "name" not in vars(sub)


def test_an_unmapped_subclass_object_is_refused_by_add_and_add_all(classes, session, sql_log,
                                                                   read_rows):
    User, EarlySub, LateSub, _, _ = classes
    for sub_cls in (EarlySub, LateSub):
        sub = sub_cls()
        sub.id, sub.name = 1, "x"
        with pytest.raises(UnmappedClassError, match=rf"Can't add .*{sub_cls.__name__}.*"
                           rf"class {sub_cls.__name__} is not mapped .*mapped class User"):
            session.add(sub)
        assert sub not in session
        with pytest.raises(UnmappedClassError, match=f"class {sub_cls.__name__} is not mapped"):
            session.add_all([sub])
        assert sub not in session and not session.new
        with pytest.raises(UnmappedClassError, match=r"Can't merge"):
            session.merge(sub)
    session.commit()
    assert read_rows("SELECT id, name FROM users") == []
    assert sql_log.matching("INSERT") == []


def test_an_unmapped_subclass_object_reached_by_a_cascade_is_refused(classes, session,
                                                                     read_rows):
    User, _, _, Address, SubAddress = classes
    u = User()
    u.id, u.name = 1, "ed"
    a = SubAddress()
    a.id, a.email = 1, "e@x"
    u.addresses.append(a)
    with pytest.raises(UnmappedClassError, match=r"User.addresses .*class SubAddress is not "
                                                 r"mapped"):
        session.add(u)
    assert u not in session and a not in session
    # and into the collection of an object the session holds
    u.addresses.remove(a)
    session.add(u)
    session.commit()
    with pytest.raises(UnmappedClassError, match="class SubAddress is not mapped"):
        u.addresses.append(a)
    assert a not in session
    session.rollback()
    assert read_rows("SELECT id, name FROM users") == [(1, "ed")]
    assert read_rows("SELECT id FROM addresses") == []
