"""Session.delete_all(objs): every object is deleted at the next flush, as delete()
of each (SQLAlchemy 2.1); also through scoped_session.  Checked by the rows left."""

from sqlalchemy import Column, Integer, String, select

from datamapper import declarative_base, scoped_session, sessionmaker


def test_delete_all_deletes_each_object_at_flush(engine, make_session, read_rows, metadata):
    Base = declarative_base(metadata=metadata)

    class Item(Base):
        __tablename__ = "da_items"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Item(id=1, name="a"), Item(id=2, name="b"), Item(id=3, name="c")])
    s.commit()
    a, b = s.scalars(select(Item).where(Item.id < 3).order_by(Item.id)).all()
    s.delete_all([a, b])
    assert a in s.deleted and b in s.deleted
    s.commit()
    assert read_rows(Item.__table__) == [(3, "c")]

    scoped = scoped_session(sessionmaker(bind=engine))
    try:
        (c,) = scoped.scalars(select(Item)).all()
        scoped.delete_all([c])
        scoped.commit()
    finally:
        scoped.remove()
    assert read_rows(Item.__table__) == []
