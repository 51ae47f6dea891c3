"""``del User.name`` on a declarative class: a mapped attribute is refused (as
SQLAlchemy refuses it: the mapper would go on mapping a column the class no longer
shows), and the mapping keeps working; other class attributes delete as usual."""

import pytest
from sqlalchemy import Column, Integer, String

from datamapper import DeclarativeBase, declarative_base, inspect, relationship
from datamapper.exc import UnmapAttributeError


def _make_classes(style):
    if style == "declarative_base":
        Base = declarative_base()
    else:
        class Base(DeclarativeBase):
            pass

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        others = relationship("User", viewonly=True, primaryjoin="User.id == User.id",
                              foreign_keys="User.id")

        def greet(self):
            return "hi"

        @property
        def shout(self):
            return (self.name or "").upper()

    return Base, User


@pytest.mark.parametrize("style", ["declarative_base", "DeclarativeBase"])
def test_deleting_a_mapped_attribute_is_refused_and_the_mapping_keeps_working(
        style, engine, make_session, read_rows):
    Base, User = _make_classes(style)
    Base.metadata.create_all(engine)
    for key in ("name", "id", "others"):
        with pytest.raises(UnmapAttributeError,
                           match=rf"Can't delete User\.{key}: it is a mapped attribute"):
            delattr(User, key)
        assert key in inspect(User).attrs
    with pytest.raises(NotImplementedError):  # the class SQLAlchemy raises
        del User.name
    s = make_session()
    s.add(User(id=1, name="ed"))
    s.commit()
    assert read_rows("SELECT id, name FROM users") == [(1, "ed")]
    u = s.get(User, 1)
    u.name = "jack"
    s.commit()
    assert read_rows("SELECT id, name FROM users") == [(1, "jack")]
    assert s.query(User).filter(User.name == "jack").one() is u
    s.close()


@pytest.mark.parametrize("style", ["declarative_base", "DeclarativeBase"])
def test_deleting_other_class_attributes_of_a_mapped_class_works(style):
    _, User = _make_classes(style)
    del User.greet
    del User.shout
    assert not hasattr(User, "greet") and not hasattr(User, "shout")
    User.extra = 5
    del User.extra
    assert not hasattr(User, "extra")
    with pytest.raises(AttributeError):
        del User.missing
    assert sorted(inspect(User).attrs.keys()) == ["id", "name", "others"]


def test_a_disposed_class_gives_up_its_attributes(Base):
    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    Base.registry.dispose()
    assert "name" not in User.__dict__
    User.name = "plain"
    del User.name
    assert not hasattr(User, "name")
