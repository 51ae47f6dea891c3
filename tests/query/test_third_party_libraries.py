"""Libraries that read models through SQLAlchemy's public API work on datamapper
models: marshmallow-sqlalchemy's ``SQLAlchemyAutoSchema`` (``sqlalchemy.inspect(User)``,
``mapper.attrs``, ``prop.columns``, ``prop.direction.name``) and pandas'
``read_sql(select(User), session.connection())``.  Each test skips when its library
is not installed."""

from __future__ import annotations

import pytest
from sqlalchemy import ForeignKey, String, insert, select

from datamapper import DeclarativeBase, Mapped, Session, mapped_column, relationship


@pytest.fixture
def models(metadata, engine):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class User(Base):
        __tablename__ = "lib_users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(30))
        addresses: Mapped[list[Address]] = relationship(back_populates="user",
                                                        order_by="Address.id")

    class Address(Base):
        __tablename__ = "lib_addresses"
        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str] = mapped_column(String(50))
        user_id: Mapped[int] = mapped_column(ForeignKey("lib_users.id"))
        user: Mapped[User] = relationship(back_populates="addresses")

    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(User), [{"id": 1, "name": "ed"}, {"id": 2, "name": "wendy"}])
        s.execute(insert(Address), [{"id": 10, "email": "ed@a", "user_id": 1}])
        s.commit()
    return User, Address


def test_marshmallow_sqlalchemy_auto_schema(models, engine, read_rows):
    ms = pytest.importorskip("marshmallow_sqlalchemy")
    User, Address = models

    class UserSchema(ms.SQLAlchemyAutoSchema):
        class Meta:
            model = User
            load_instance = True
            include_relationships = True

    assert set(UserSchema().fields) == {"id", "name", "addresses"}
    with Session(engine) as s:
        ed = s.get(User, 1)
        assert UserSchema().dump(ed) == {"id": 1, "name": "ed", "addresses": [10]}
        new = UserSchema().load({"id": 3, "name": "jack"}, session=s)
        assert isinstance(new, User) and new.name == "jack"
        s.add(new)
        s.commit()
        errors = UserSchema().validate({"id": 4, "name": "x" * 31}, session=s)
        assert "name" in errors  # String(30) became a length check
    assert [r[1] for r in read_rows(User.__table__)] == ["ed", "wendy", "jack"]


def test_pandas_read_sql_of_a_select_of_a_class(models, engine):
    pd = pytest.importorskip("pandas")
    User, Address = models
    with Session(engine) as s:
        frame = pd.read_sql(select(User).order_by(User.id), s.connection())
        assert list(frame.columns) == ["id", "name"]
        assert frame["name"].tolist() == ["ed", "wendy"]
        joined = pd.read_sql(
            select(User.name, Address.email).join(Address, User.id == Address.user_id),
            s.connection())
        assert joined.to_dict("records") == [{"name": "ed", "email": "ed@a"}]
