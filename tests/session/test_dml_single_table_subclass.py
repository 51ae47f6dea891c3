"""A criteria UPDATE or DELETE of a single-table subclass changes only that
subclass's rows (the statement carries its discriminator test), whichever
``synchronize_session`` is used and whether it runs through ``Query`` or
``Session.execute()``; the session's objects of the base class and of sibling
classes follow what the database did."""

import pytest
from sqlalchemy import Column, Integer, String, delete, select, update


@pytest.fixture
def staff(Base, engine, make_session):
    class Staff(Base):
        __tablename__ = "staff"
        id = Column(Integer, primary_key=True)
        position = Column(String(10), nullable=False)
        name = Column(String(5))
        stats = Column(String(5))
        __mapper_args__ = {"polymorphic_on": position, "polymorphic_identity": "staff"}

    class Sales(Staff):
        __mapper_args__ = {"polymorphic_identity": "sales"}

    class Support(Staff):
        __mapper_args__ = {"polymorphic_identity": "support"}

    class Helpdesk(Support):
        __mapper_args__ = {"polymorphic_identity": "helpdesk"}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Sales(id=1, name="n1", stats="a"), Sales(id=2, name="n2", stats="b"),
               Support(id=3, name="n1", stats="c"), Support(id=4, name="n2", stats="d"),
               Helpdesk(id=5, name="n1", stats="e"), Staff(id=6, name="n1", stats="f")])
    s.commit()
    s.close()
    return Staff, Sales, Support, Helpdesk


SYNC = ["fetch", "evaluate", "auto", False]


def _rows(session, read_rows):
    session.commit()
    return [(r[1], r[2], r[3]) for r in read_rows("SELECT id, position, name, stats FROM staff "
                                                   "ORDER BY id")]


@pytest.mark.parametrize("sync", SYNC)
@pytest.mark.parametrize("style", ["query", "execute"])
def test_update_of_a_subclass_changes_only_its_rows(staff, session, read_rows, sync, style):
    Staff, Sales, Support, Helpdesk = staff
    objs = session.scalars(select(Staff).order_by(Staff.id)).all()
    if style == "query":
        session.query(Support).filter_by(name="n1").update({"stats": "p"},
                                                           synchronize_session=sync)
    else:
        session.execute(update(Support).filter_by(name="n1").values(stats="p")
                        .execution_options(synchronize_session=sync))
    if sync is not False:
        assert [o.stats for o in objs] == ["a", "b", "p", "d", "p", "f"]
    assert _rows(session, read_rows) == [("sales", "n1", "a"), ("sales", "n2", "b"),
                                         ("support", "n1", "p"), ("support", "n2", "d"),
                                         ("helpdesk", "n1", "p"), ("staff", "n1", "f")]


@pytest.mark.parametrize("sync", SYNC)
@pytest.mark.parametrize("style", ["query", "execute"])
def test_delete_of_a_subclass_removes_only_its_rows(staff, session, read_rows, sync, style):
    Staff, Sales, Support, Helpdesk = staff
    objs = session.scalars(select(Staff).order_by(Staff.id)).all()
    if style == "query":
        session.query(Support).filter_by(name="n1").delete(synchronize_session=sync)
    else:
        session.execute(delete(Support).filter_by(name="n1")
                        .execution_options(synchronize_session=sync))
    if sync is not False:
        assert [o in session for o in objs] == [True, True, False, True, False, True]
    assert _rows(session, read_rows) == [("sales", "n1", "a"), ("sales", "n2", "b"),
                                         ("support", "n2", "d"), ("staff", "n1", "f")]


@pytest.mark.parametrize("sync", ["fetch", "evaluate", "auto"])
@pytest.mark.parametrize("style", ["query", "execute"])
def test_update_of_the_base_class_reaches_subclass_objects(staff, session, read_rows, sync,
                                                          style):
    Staff, Sales, Support, Helpdesk = staff
    objs = session.scalars(select(Staff).order_by(Staff.id)).all()
    if style == "query":
        session.query(Staff).filter_by(name="n1").update({"stats": "q"},
                                                         synchronize_session=sync)
    else:
        session.execute(update(Staff).filter_by(name="n1").values(stats="q")
                        .execution_options(synchronize_session=sync))
    assert [o.stats for o in objs] == ["q", "b", "q", "d", "q", "q"]
    assert [r[2] for r in _rows(session, read_rows)] == ["q", "b", "q", "d", "q", "q"]


@pytest.mark.parametrize("sync", ["fetch", "evaluate", "auto"])
def test_delete_of_the_base_class_removes_subclass_objects(staff, session, read_rows, sync):
    Staff, Sales, Support, Helpdesk = staff
    objs = session.scalars(select(Staff).order_by(Staff.id)).all()
    session.execute(delete(Staff).filter_by(name="n1")
                    .execution_options(synchronize_session=sync))
    assert [o in session for o in objs] == [False, True, False, True, False, False]
    assert [r[0] for r in _rows(session, read_rows)] == ["sales", "support"]
