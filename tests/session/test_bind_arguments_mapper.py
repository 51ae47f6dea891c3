"""``execute(..., bind_arguments={"mapper": m})`` reaches ``get_bind(mapper=m)`` once (no
"multiple values" error) and leaves the caller's dict unchanged."""

import sqlalchemy as sa
from sqlalchemy import Column, Integer

from datamapper import Session, class_mapper, declarative_base


def test_bind_arguments_may_name_the_mapper(metadata, engine):
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)

    seen = []

    class Recording(Session):
        def get_bind(self, mapper=None, clause=None, **kw):
            seen.append((mapper, kw))
            return super().get_bind(mapper, clause=clause, **kw)

    metadata.create_all(engine)
    args = {"mapper": class_mapper(User), "shard": "a"}
    with Recording(engine) as s:
        assert s.execute(sa.select(sa.literal(1)), bind_arguments=args).scalar() == 1
    assert args == {"mapper": class_mapper(User), "shard": "a"}
    assert seen[-1] == (class_mapper(User), {"shard": "a"})
