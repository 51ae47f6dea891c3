"""``@validates``: the method runs on every change to the named attributes (constructor
keywords, assignments, collection appends, bulk collection assignment, changes made by
a backref unless ``include_backrefs=False``) and what it returns is stored;
``include_removes=True`` also reports removals, with a fourth argument."""

from typing import Any
from unittest.mock import Mock, call

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
from sqlalchemy.exc import InvalidRequestError

from datamapper import (
    attribute_keyed_dict,
    registry,
    relationship,
    validates,
)


def _tables() -> tuple[MetaData, Table, Table]:
    md = MetaData()
    users = Table("val_users", md, Column("id", Integer, primary_key=True),
                  Column("name", String(50)))
    addresses = Table("val_addresses", md, Column("id", Integer, primary_key=True),
                      Column("user_id", Integer, ForeignKey("val_users.id")),
                      Column("email", String(50)))
    return md, users, addresses


class _Base:
    def __init__(self, **kw: Any) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def test_validator_result_is_what_the_flush_writes(engine, make_session, read_rows):
    md, users, addresses = _tables()

    class User(_Base):
        @validates("name")
        def _name(self, key: str, value: Any) -> Any:
            assert key == "name"
            return value.strip().title() if value is not None else None

    registry(metadata=md).map_imperatively(User, users)
    md.create_all(engine)
    s = make_session()
    u = User(name="  ed jones ")
    assert u.name == "Ed Jones"
    s.add(u)
    s.commit()
    u.name = "mary"
    s.commit()
    assert read_rows("SELECT name FROM val_users") == [("Mary",)]


def test_a_refusing_validator_leaves_the_object_unchanged(engine, make_session, read_rows):
    md, users, addresses = _tables()

    class User(_Base):
        @validates("name")
        def _name(self, key: str, value: Any) -> Any:
            if not value:
                raise ValueError(f"{key} must not be empty")
            return value

    registry(metadata=md).map_imperatively(User, users)
    md.create_all(engine)
    s = make_session()
    u = User(name="ed")
    s.add(u)
    s.commit()
    with pytest.raises(ValueError, match="name must not be empty"):
        u.name = ""
    assert u.name == "ed"
    assert u not in s.dirty
    s.commit()
    assert read_rows("SELECT name FROM val_users") == [("ed",)]


def test_collection_validator_converts_appends_and_bulk_assignment(engine, make_session,
                                                                   read_rows):
    md, users, addresses = _tables()

    class Address(_Base):
        pass

    class User(_Base):
        @validates("addresses")
        def _address(self, key: str, item: Any) -> Any:
            return Address(email=item) if isinstance(item, str) else item

    reg = registry(metadata=md)
    reg.map_imperatively(User, users, properties={"addresses": relationship(Address)})
    reg.map_imperatively(Address, addresses)
    md.create_all(engine)
    s = make_session()
    u = User(name="ed")
    u.addresses.append("a@x")
    assert [a.email for a in u.addresses] == ["a@x"]
    u.addresses = ["b@x", "c@x"]
    assert [a.email for a in u.addresses] == ["b@x", "c@x"]
    s.add(u)
    s.commit()
    assert sorted(read_rows("SELECT email FROM val_addresses")) == [("b@x",), ("c@x",)]


def test_keyed_dict_bulk_assignment_is_validated_before_keying():
    md, users, addresses = _tables()

    class Address(_Base):
        pass

    class User(_Base):
        @validates("addresses", include_removes=True)
        def _address(self, key: str, item: Any, remove: bool) -> Any:
            if remove:
                assert isinstance(item, Address)
                return item
            return Address(email=item) if isinstance(item, str) else item

    reg = registry(metadata=md)
    reg.map_imperatively(User, users, properties={"addresses": relationship(
        Address, collection_class=attribute_keyed_dict("email"))})
    reg.map_imperatively(Address, addresses)
    reg.configure()
    u = User()
    u.addresses["e1"] = "e1"
    assert u.addresses["e1"].email == "e1"
    u.addresses = {"e3": "e3", "e4": "e4"}
    assert sorted(u.addresses) == ["e3", "e4"]
    assert all(isinstance(a, Address) for a in u.addresses.values())


def test_include_removes_reports_deletions_and_removals():
    md, users, addresses = _tables()
    canary = Mock()

    class Address(_Base):
        pass

    class User(_Base):
        @validates("name", include_removes=True)
        def _name(self, key: str, value: Any, remove: bool) -> Any:
            canary(key, value, remove)
            return value

        @validates("addresses", include_removes=True)
        def _address(self, key: str, item: Any, remove: bool) -> Any:
            canary(key, item, remove)
            return item

    reg = registry(metadata=md)
    reg.map_imperatively(User, users, properties={"addresses": relationship(Address)})
    reg.map_imperatively(Address, addresses)
    reg.configure()
    u = User()
    u.name = "ed"
    u.name = "mary"
    del u.name
    a1, a2, a3 = Address(), Address(), Address()
    u.addresses.append(a1)
    u.addresses.remove(a1)
    u.addresses = [a1, a2]
    u.addresses = [a2, a3]
    assert canary.mock_calls == [
        call("name", "ed", False), call("name", "mary", False), call("name", "mary", True),
        call("addresses", a1, False), call("addresses", a1, True),
        call("addresses", a1, False), call("addresses", a2, False),
        # a bulk assignment validates every member it is given, then reports removals
        call("addresses", a2, False), call("addresses", a3, False),
        call("addresses", a1, True),
    ]


def _backref_models(include_backrefs: bool, canary: Mock) -> tuple[type, type]:
    md, users, addresses = _tables()

    class User(_Base):
        @validates("addresses", include_removes=True, include_backrefs=include_backrefs)
        def _address(self, key: str, item: Any, remove: bool) -> Any:
            canary(key, item, remove)
            return item

    class Address(_Base):
        @validates("user", include_removes=True, include_backrefs=include_backrefs)
        def _user(self, key: str, item: Any, remove: bool) -> Any:
            canary(key, item, remove)
            return item

    reg = registry(metadata=md)
    reg.map_imperatively(User, users,
                         properties={"addresses": relationship(Address, backref="user")})
    reg.map_imperatively(Address, addresses)
    reg.configure()
    return User, Address


def _backref_moves(User, Address):
    """Appends, a reassignment, a delete and a removal, each with a backref side."""
    u1, u2 = User(), User()
    a1, a2 = Address(), Address()
    u1.addresses.append(a1)
    u1.addresses.append(a2)
    a2.user = u2
    del a1.user
    u2.addresses.remove(a2)
    return u1, u2, a1, a2


def test_validators_see_changes_made_by_a_backref():
    canary = Mock()
    User, Address = _backref_models(True, canary)
    u1, u2, a1, a2 = _backref_moves(User, Address)
    assert canary.mock_calls == [
        call("addresses", a1, False), call("user", u1, False),
        call("addresses", a2, False), call("user", u1, False),
        call("user", u2, False), call("addresses", a2, True), call("addresses", a2, False),
        call("user", u1, True), call("addresses", a1, True),
        call("addresses", a2, True), call("user", None, False),
    ]
    assert a2.user is None and a2 not in u2.addresses and a1 not in u1.addresses


def test_include_backrefs_false_skips_backref_changes():
    canary = Mock()
    User, Address = _backref_models(False, canary)
    u1, u2, a1, a2 = _backref_moves(User, Address)
    assert canary.mock_calls == [
        call("addresses", a1, False), call("addresses", a2, False),
        call("user", u2, False), call("user", u1, True), call("addresses", a2, True),
    ]
    # the backrefs themselves still ran
    assert a2.user is None and a1.user is None and list(u1.addresses) == []


def test_many_to_one_validator_can_replace_the_target(engine, make_session, read_rows):
    md, users, addresses = _tables()

    class User(_Base):
        pass

    class Address(_Base):
        @validates("user")
        def _user(self, key: str, value: Any) -> Any:
            return User(name=value) if isinstance(value, str) else value

    reg = registry(metadata=md)
    reg.map_imperatively(User, users)
    reg.map_imperatively(Address, addresses, properties={"user": relationship(User)})
    md.create_all(engine)
    s = make_session()
    a = Address(email="a@x", user="jack")
    s.add(a)
    s.commit()
    assert read_rows("SELECT u.name FROM val_addresses a JOIN val_users u "
                     "ON u.id = a.user_id") == [("jack",)]


def test_two_validators_for_one_attribute_are_refused():
    md, users, addresses = _tables()

    class Foo:
        @validates("name")
        def one(self, key: str, value: Any) -> Any:
            return value

        @validates("id", "name")
        def two(self, key: str, value: Any) -> Any:
            return value

    with pytest.raises(InvalidRequestError, match=r"Foo\.name.*validation function.*one.*two"):
        registry(metadata=md).map_imperatively(Foo, users)


def test_subclass_may_override_its_bases_validator():
    md, users, addresses = _tables()

    class Base(_Base):
        @validates("name")
        def check(self, key: str, value: Any) -> Any:
            return "base:" + value

    class Sub(Base):
        @validates("name")
        def check(self, key: str, value: Any) -> Any:
            return "sub:" + value

    registry(metadata=md).map_imperatively(Sub, users)
    assert Sub(name="x").name == "sub:x"


def test_callable_object_as_validator():
    md, users, addresses = _tables()

    class Upper:
        def __call__(self, obj: Any, key: str, value: Any) -> Any:
            return value.upper()

    class User(_Base):
        check = validates("name")(Upper())

    registry(metadata=md).map_imperatively(User, users)
    assert User(name="ed").name == "ED"
