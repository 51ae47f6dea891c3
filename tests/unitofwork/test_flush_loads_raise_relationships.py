"""``lazy="raise"`` and ``raiseload()`` stop the program from loading a relationship
by accident; they do not stop the flush from loading what it must know to write
correct rows (the children of a deleted parent, whose foreign keys it sets to
NULL).  Reading the attribute in the program still raises."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, select

from datamapper import exc, raiseload, relationship


@pytest.fixture
def AB(Base, engine):
    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", back_populates="a", lazy="raise")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("a.id"))
        a = relationship("A", back_populates="bs", lazy="raise")

    Base.metadata.create_all(engine)
    return A, B


def _seed(s, A, B):
    s.add(A(id=1, bs=[B(id=1), B(id=2)]))
    s.commit()


def test_delete_parent_loads_raise_collection_in_flush(AB, make_session, read_rows, sql_log):
    A, B = AB
    s = make_session()
    _seed(s, A, B)
    a = s.execute(select(A)).scalars().first()
    with pytest.raises(exc.InvalidRequestError, match="lazy='raise'"):
        a.bs  # noqa: B018  (the program itself may not load it)
    s.delete(a)
    sql_log.clear()
    s.flush()
    assert len(sql_log.matching("SELECT")) == 1
    assert len(sql_log.matching("UPDATE B")) == 1
    s.commit()
    assert read_rows(B.__table__) == [(1, None), (2, None)]
    assert read_rows(A.__table__) == []


def test_delete_parent_loaded_with_raiseload_option(Base, engine, make_session, read_rows):
    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B")

    class B(Base):
        __tablename__ = "b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("a.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    _seed(s, A, B)
    a = s.query(A).options(raiseload(A.bs)).first()
    with pytest.raises(exc.InvalidRequestError):
        a.bs  # noqa: B018
    s.delete(a)
    s.commit()
    assert read_rows(B.__table__) == [(1, None), (2, None)]


def test_before_flush_handler_still_sees_raise(AB, make_session):
    from datamapper import event

    A, B = AB
    s = make_session()
    _seed(s, A, B)
    a = s.execute(select(A)).scalars().first()
    seen = []

    @event.listens_for(s, "before_flush")
    def handler(session, ctx, objs):
        try:
            a.bs  # noqa: B018
        except exc.InvalidRequestError:
            seen.append("raised")

    a.id = 1  # no net change, but the handler runs for the dirty object
    s.delete(a)
    s.flush()
    assert seen == ["raised"]


@pytest.mark.parametrize("configured", ["raise", "raise_on_sql", "noload"])
def test_lazyload_option_loads_a_relationship_configured_not_to(Base, engine, make_session,
                                                                sql_log, configured):
    """lazyload() in a query overrides lazy='raise'/'raise_on_sql'/'noload' for the
    objects that query loads: the attribute loads with one SELECT."""
    from datamapper import lazyload

    class Owner(Base):
        __tablename__ = "owner_lz"
        id = Column(Integer, primary_key=True)
        pets = relationship("Pet", lazy=configured, order_by="Pet.id")

    class Pet(Base):
        __tablename__ = "pet_lz"
        id = Column(Integer, primary_key=True)
        owner_id = Column(ForeignKey("owner_lz.id"))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add(Owner(id=1))
    s.add_all([Pet(id=1, owner_id=1), Pet(id=2, owner_id=1)])
    s.commit()
    s.close()
    s = make_session()
    o = s.query(Owner).options(lazyload(Owner.pets)).one()
    sql_log.clear()
    assert [p.id for p in o.pets] == [1, 2]
    assert sql_log.count == 1
    # without the option the configured strategy still applies
    s.expunge_all()
    o2 = s.query(Owner).one()
    if configured == "noload":
        assert o2.pets == []
    else:
        with pytest.raises(exc.InvalidRequestError, match="lazy="):
            o2.pets  # noqa: B018
