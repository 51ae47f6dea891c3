"""Printing an expired object's ``__dict__`` shows its state without loading it:
the state's repr never calls the object's own ``__repr__`` (which reads attributes)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String

from datamapper import Session, declarative_base


def test_repr_of_the_state_of_an_expired_object_loads_nothing(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

        def __repr__(self) -> str:
            return f"User({self.id!r}, {self.name!r})"

    metadata.create_all(engine)
    with Session(engine) as s:
        u = User(id=1, name="sandy")
        s.add(u)
        s.commit()  # expires u
        text = repr(u.__dict__)
        assert "InstanceState of User object at 0x" in text
        assert set(u.__dict__) == {"_dm_state"}  # still expired: nothing was loaded
        assert u.name == "sandy"
