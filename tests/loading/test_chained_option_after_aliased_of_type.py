"""A loader option chained after ``of_type(aliased(Sub))`` goes on from the subclass's
rows, as after ``of_type(Sub)``: ``selectinload(C.jobs.of_type(sj)).selectinload(
sj.widget)`` left ``widget`` to lazy loads, one SELECT per job (joinedload: per job
and per container).  (The aliased() entity's collection holds SubJob rows only, see
test_eager_of_type_aliased_joined_subclass.py.)"""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import aliased, joinedload, relationship, selectinload, subqueryload


@pytest.fixture
def M(Base, engine, make_session):
    class Container(Base):
        __tablename__ = "caot_containers"
        id = Column(Integer, primary_key=True)
        jobs = relationship("Job", order_by="Job.id")

    class Job(Base):
        __tablename__ = "caot_jobs"
        id = Column(Integer, primary_key=True)
        c_id = Column(ForeignKey("caot_containers.id"))
        type = Column(String(10))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "job"}

    class SubJob(Job):
        __tablename__ = "caot_subjobs"
        id = Column(ForeignKey("caot_jobs.id"), primary_key=True)
        w_id = Column(ForeignKey("caot_widgets.id"))
        widget = relationship("Widget")
        __mapper_args__ = {"polymorphic_identity": "sub"}

    class Widget(Base):
        __tablename__ = "caot_widgets"
        id = Column(Integer, primary_key=True)
        name = Column(String(10))

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Container(id=i, jobs=[SubJob(id=i * 10 + j, widget=Widget(id=i * 10 + j,
                                                                        name=f"w{i}{j}"))
                                     for j in range(2)] + [Job(id=i * 10 + 5)])
               for i in range(1, 4)])
    s.commit()
    s.close()
    return Container, Job, SubJob


@pytest.mark.parametrize("opt", [selectinload, subqueryload, joinedload])
@pytest.mark.parametrize("alias", [True, False], ids=["aliased", "class"])
def test_chained_option_loads_with_the_query(M, make_session, sql_log, opt, alias):
    Container, _Job, SubJob = M
    sj = aliased(SubJob) if alias else SubJob
    chained = getattr(opt(Container.jobs.of_type(sj)), opt.__name__)(sj.widget)
    s = make_session()
    sql_log.clear()
    containers = s.query(Container).options(chained).order_by(Container.id).all()
    names = [[getattr(getattr(j, "widget", None), "name", None) for j in c.jobs]
             for c in containers]
    if alias:  # of_type(aliased(SubJob)): the SubJob rows only
        assert names == [["w10", "w11"], ["w20", "w21"], ["w30", "w31"]]
    else:
        assert names == [["w10", "w11", None], ["w20", "w21", None], ["w30", "w31", None]]
    assert sql_log.count == {joinedload: 1, selectinload: 3, subqueryload: 3}[opt]
