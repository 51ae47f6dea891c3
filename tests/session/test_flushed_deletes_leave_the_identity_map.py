"""A flushed DELETE takes the object out of the identity map (one-column and
composite keys alike), tells persistent_to_deleted listeners, and a rollback
brings it back."""

from sqlalchemy import Column, Integer, String

from datamapper import event, inspect


def test_flushed_deletes_leave_the_identity_map(Base, engine, make_session):
    class One(Base):
        __tablename__ = "ones"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Two(Base):
        __tablename__ = "twos"
        a = Column(Integer, primary_key=True, autoincrement=False)
        b = Column(Integer, primary_key=True, autoincrement=False)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([One(id=1, name="x"), One(id=2, name="y"), Two(a=1, b=2, name="z")])
    s.commit()
    told = []
    event.listen(s, "persistent_to_deleted", lambda sess, obj: told.append(obj))
    one, two, kept = s.get(One, 1), s.get(Two, (1, 2)), s.get(One, 2)
    s.delete(one)
    s.delete(two)
    s.flush()
    assert inspect(one).deleted and inspect(two).deleted
    assert set(s.identity_map.keys()) == {inspect(kept).key}
    assert told == [one, two] or told == [two, one]
    s.rollback()
    assert inspect(one).persistent and inspect(two).persistent
    assert s.get(One, 1) is one and s.get(Two, (1, 2)) is two
