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


def test_bulk_update_and_delete_ask_get_bind_by_keyword_with_a_clause(metadata, engine):
    # a get_bind() override that routes by clause (reads against writes, say) sees
    # every call of Query.update()/delete() with mapper= and clause=, whatever the
    # synchronize_session strategy
    Base = declarative_base(metadata=metadata)

    class User(Base):
        __tablename__ = "users"
        id = Column(Integer, primary_key=True)
        name = Column(sa.String(20))

    calls = []

    class Recording(Session):
        def get_bind(self, *args, **kw):
            calls.append((args, sorted(kw)))
            return super().get_bind(*args, **kw)

    metadata.create_all(engine)
    for sync in (False, "fetch", "evaluate", "auto"):
        with Recording(engine) as s:
            s.add(User(id=1, name="a"))
            s.commit()
            calls.clear()
            s.query(User).filter(User.id == 1).update({"name": "b"}, synchronize_session=sync)
            s.query(User).filter(User.id == 1).delete(synchronize_session=sync)
            s.commit()
        assert calls, sync
        assert all(args == () and "clause" in kw and "mapper" in kw for args, kw in calls), \
            (sync, calls)
