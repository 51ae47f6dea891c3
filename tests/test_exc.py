"""datamapper.exc: the exception classes, their hierarchy, and messages that
say what failed, on which object/attribute, and what to do."""

import pytest
import sqlalchemy.exc as sa_exc
from sqlalchemy import Column, Integer, String, text

from datamapper import Session, class_mapper, declarative_base, exc

REEXPORTED = [
    "InvalidRequestError",
    "NoResultFound",
    "MultipleResultsFound",
    "PendingRollbackError",
    "IntegrityError",
    "ArgumentError",
    "UnboundExecutionError",
    "CircularDependencyError",
    "NoReferencedTableError",
]


@pytest.mark.parametrize("name", REEXPORTED)
def test_core_exceptions_are_reexported_unchanged(name):
    assert getattr(exc, name) is getattr(sa_exc, name)


@pytest.mark.parametrize(
    "name, base",
    [
        ("FlushError", sa_exc.SQLAlchemyError),
        ("StaleDataError", sa_exc.SQLAlchemyError),
        ("ObjectDeletedError", sa_exc.InvalidRequestError),
        ("DetachedInstanceError", sa_exc.SQLAlchemyError),
        ("UnmappedInstanceError", sa_exc.InvalidRequestError),
        ("UnmappedClassError", sa_exc.InvalidRequestError),
        ("ObjectDereferencedError", sa_exc.SQLAlchemyError),
    ],
)
def test_orm_exceptions_subclass_the_fitting_core_class(name, base):
    cls = getattr(exc, name)
    assert isinstance(cls, type)
    assert issubclass(cls, base)
    assert cls.__module__.startswith("datamapper")


def test_orm_exception_classes_are_distinct():
    names = [
        "FlushError",
        "StaleDataError",
        "ObjectDeletedError",
        "DetachedInstanceError",
        "UnmappedInstanceError",
        "UnmappedClassError",
        "ObjectDereferencedError",
    ]
    assert len({getattr(exc, n) for n in names}) == len(names)


def test_exceptions_catchable_as_sqlalchemy_error():
    with pytest.raises(sa_exc.SQLAlchemyError):
        raise exc.FlushError("x")


# ------------------------------------------------------------ messages


@pytest.fixture
def User(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    metadata.create_all(engine)
    return User


@pytest.fixture
def session(engine):
    s = Session(engine)
    yield s
    s.close()


def test_unmapped_instance_message_names_class(session):
    class Gadget:
        pass

    with pytest.raises(exc.UnmappedInstanceError) as err:
        session.add(Gadget())
    assert "Gadget" in str(err.value)
    assert "mapped" in str(err.value).lower()


def test_unmapped_class_message_names_class():
    class Gadget:
        pass

    with pytest.raises(exc.UnmappedClassError) as err:
        class_mapper(Gadget)
    assert "Gadget" in str(err.value)


def test_detached_instance_message_names_object_attribute_and_fix(session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    session.close()
    with pytest.raises(exc.DetachedInstanceError) as err:
        u.name  # noqa: B018
    msg = str(err.value)
    assert "User" in msg and "name" in msg
    assert "session" in msg.lower()


def test_object_deleted_message_names_object(engine, session, User):
    u = User(id=1, name="a")
    session.add(u)
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users"))
    with pytest.raises(exc.ObjectDeletedError) as err:
        u.name  # noqa: B018
    assert "User" in str(err.value)


def test_stale_data_message_names_table_or_class(engine, User):
    s = Session(engine, expire_on_commit=False)
    try:
        u = User(id=1, name="a")
        s.add(u)
        s.commit()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM users"))
        u.name = "b"
        with pytest.raises(exc.StaleDataError) as err:
            s.flush()
        msg = str(err.value)
        assert "users" in msg or "User" in msg
        assert "1" in msg  # expected row count or key
    finally:
        s.close()


def test_flush_error_message_names_identity_conflict(session, User):
    session.add(User(id=1, name="a"))
    session.commit()
    keep = session.get(User, 1)
    session.add(User(id=1, name="b"))
    with pytest.raises(exc.FlushError) as err:
        session.flush()
    msg = str(err.value)
    assert "User" in msg
    assert "1" in msg
    assert keep is session.get(User, 1)


def test_pending_rollback_message_says_to_roll_back(engine, metadata):
    Base = declarative_base(metadata=metadata)

    class Strict(Base):
        __tablename__ = "strict"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False)

    metadata.create_all(engine)
    s = Session(engine)
    try:
        s.add(Strict(id=1, name=None))
        with pytest.raises(exc.IntegrityError):
            s.flush()
        with pytest.raises(exc.PendingRollbackError) as err:
            s.flush()
        assert "rollback" in str(err.value).lower()
    finally:
        s.close()
