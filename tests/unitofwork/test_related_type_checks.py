"""Objects of another class in a relationship: taken when they are put there (unless
they can't be held at all), refused by a cascade along the relationship
(RelatedTypeError, before anything changes) or by the flush (FlushError, before any
SQL).  A mapped subclass of the target is written if the target loads subclasses
(polymorphic_on) or the relationship has enable_typechecks=False."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import exc, relationship


@pytest.fixture
def M(Base, engine):
    link = Table("rt_link", Base.metadata,
                 Column("a_id", ForeignKey("rt_a.id"), primary_key=True),
                 Column("b_id", ForeignKey("rt_b.id"), primary_key=True))

    class A(Base):
        __tablename__ = "rt_a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", cascade="none")
        loose = relationship("B", cascade="none", enable_typechecks=False, viewonly=False,
                             overlaps="bs")
        cs = relationship("C")  # save-update cascade
        many = relationship("B", secondary=link, cascade="none")
        pbs = relationship("P", cascade="none")

    class B(Base):
        __tablename__ = "rt_b"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("rt_a.id"))
        a = relationship(A, cascade="none", overlaps="bs,loose")

    class SubB(B):  # joined, and B has no polymorphic_on: loaded back as a B
        __tablename__ = "rt_subb"
        id = Column(ForeignKey("rt_b.id"), primary_key=True)

    class C(Base):
        __tablename__ = "rt_c"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("rt_a.id"))

    class P(Base):
        __tablename__ = "rt_p"
        id = Column(Integer, primary_key=True)
        a_id = Column(ForeignKey("rt_a.id"))
        kind = Column(String(10))
        __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "p"}

    class SubP(P):
        __mapper_args__ = {"polymorphic_identity": "sub"}

    Base.metadata.create_all(engine)

    class M:
        pass

    for c in (A, B, SubB, C, P, SubP):
        setattr(M, c.__name__, c)
    return M


def _state(session):
    return (set(map(id, session.new)), set(map(id, session.dirty)), list(session.identity_map))


@pytest.mark.parametrize("how", ["one-to-many", "many-to-one", "many-to-many"])
def test_flush_refuses_an_object_of_an_unrelated_class(M, make_session, sql_log, how):
    s = make_session()
    a, stray = M.A(id=1), M.C(id=1)
    if how == "one-to-many":
        a.bs.append(stray)
    elif how == "many-to-one":
        stray, holder = M.C(id=2), M.B(id=1)
        holder.a = stray
        a = holder
    else:
        a.many.append(stray)
    s.add_all([a, stray])
    before = _state(s)
    sql_log.clear()
    with pytest.raises(exc.FlushError, match="Attempting to flush an item of type") as info:
        s.flush()
    assert "take the" in str(info.value)
    assert sql_log.statements == [] and _state(s) == before


def test_flush_refuses_a_subclass_the_target_does_not_load(M, make_session, sql_log):
    s = make_session()
    a, sub = M.A(id=1), M.SubB(id=1)
    a.bs.append(sub)
    s.add_all([a, sub])
    sql_log.clear()
    with pytest.raises(exc.FlushError, match="enable_typechecks=False"):
        s.flush()
    assert sql_log.statements == []


def test_subclass_is_written_with_enable_typechecks_false_or_polymorphic_target(
        M, make_session, read_rows):
    s = make_session()
    a, sub, subp = M.A(id=1), M.SubB(id=1), M.SubP(id=1)
    a.loose.append(sub)
    a.pbs.append(subp)
    s.add_all([a, sub, subp])
    s.commit()
    assert read_rows(M.B.__table__) == [(1, 1)]
    assert read_rows(M.P.__table__) == [(1, 1, "sub")]


def test_cascade_of_add_refuses_the_whole_add(M, make_session):
    s = make_session()
    a = M.A(id=1)
    a.cs.append(M.C(id=1))
    a.cs.append(M.B(id=2))  # taken here: no backref to keep
    with pytest.raises(exc.RelatedTypeError, match="doesn't handle objects of type B") as info:
        s.add(a)
    assert "A.cs" in str(info.value) and "holds C objects" in str(info.value)
    assert isinstance(info.value, AssertionError)
    assert list(s.new) == []


def test_reference_to_an_object_outside_the_session_is_left_out_with_a_warning(
        M, make_session, read_rows):
    s = make_session()
    b = M.B(id=1)
    b.a = M.C(id=5)  # B.a has cascade="none": the C never reaches the session
    s.add(b)
    with pytest.warns(exc.SAWarning, match="not in session"):
        s.commit()
    assert read_rows(M.B.__table__) == [(1, None)]


def test_what_can_never_be_held_is_refused_when_put_there(M):
    a = M.A(id=1)
    for bad in (object(), 5):
        with pytest.raises(exc.RelatedTypeError, match="Can't put"):
            a.bs.append(bad)
    assert a.bs == []
