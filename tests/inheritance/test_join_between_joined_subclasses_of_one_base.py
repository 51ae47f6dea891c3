"""A join along a relationship to a joined-table subclass whose base table the
statement reads already (``Manager.engineers``: managers and engineers both extend
``people``) reads the target through an alias of its tables (``people AS people_1
JOIN engineers AS engineers_1``), as SQLAlchemy does; the statement's criteria,
ORDER BY and selected columns naming the target class (``Engineer.name``) name the
alias, those of the other class (``Manager.name``) its own tables.  (Before, the
tables were named twice: "ambiguous column name", or a Core error about which FROM
to join from.)  In ``Query``, datamapper's ``select()`` and Core's ``select()``."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.exc import SAWarning

from datamapper import declarative_base, relationship, select


@pytest.fixture
def staff(engine, make_session):
    Base = declarative_base()

    class Person(Base):
        __tablename__ = "people"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        type = Column(String(20))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Manager(Person):
        __tablename__ = "managers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        status = Column(String(20))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Engineer(Person):
        __tablename__ = "engineers"
        id = Column(ForeignKey("people.id"), primary_key=True)
        reports_to_id = Column(ForeignKey("managers.id"))
        reports_to = relationship(
            Manager, backref="engineers",
            primaryjoin="Manager.__table__.c.id == Engineer.__table__.c.reports_to_id")
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    Base.metadata.create_all(engine)
    s = make_session()
    m1, m2 = Manager(id=1, name="dogbert"), Manager(id=2, name="foo")
    s.add_all([m1, m2, Engineer(id=3, name="wally", reports_to=m1),
               Engineer(id=4, name="dilbert", reports_to=m2), Engineer(id=5, name="etc")])
    s.commit()
    s.close()
    return Person, Manager, Engineer


def _names(objs):
    return [o.name for o in objs]


def _aliasing():
    # SQLAlchemy warns that it made the alias itself; so does datamapper
    return pytest.warns(SAWarning, match="An alias is being generated automatically "
                        "against joined entity")


def test_query_join_to_subclass_over_the_same_base_table(staff, make_session, sql_log):
    _p, Manager, Engineer = staff
    s = make_session()
    with _aliasing():
        q = s.query(Manager).join(Manager.engineers)
        assert sorted(_names(q.all())) == ["dogbert", "foo"]
        assert "people AS people_1" in sql_log.statements[-1]
        # criteria on either class: each names its own tables
        assert _names(q.filter(Manager.name == "dogbert").all()) == ["dogbert"]
        assert _names(q.filter(Engineer.name == "dilbert").all()) == ["foo"]
        assert _names(q.order_by(Engineer.name).all()) == ["foo", "dogbert"]
        # the other direction, and with the target class given
        assert _names(s.query(Engineer).join(Engineer.reports_to)
                      .filter(Manager.name == "dogbert").all()) == ["wally"]
        assert _names(s.query(Manager).join(Engineer, Manager.engineers)
                      .filter(Engineer.name == "wally").all()) == ["dogbert"]
        # an outer join keeps managers without engineers (none here)
        assert s.query(Manager).outerjoin(Manager.engineers) \
            .filter(Engineer.name.is_(None)).all() == []
        # the selected columns of the joined class name the alias too
        assert s.query(Manager.name, Engineer.name).join(Manager.engineers) \
            .order_by(Engineer.name).all() == [("foo", "dilbert"), ("dogbert", "wally")]


@pytest.mark.parametrize("core", [False, True], ids=["datamapper_select", "core_select"])
def test_select_join_to_subclass_over_the_same_base_table(staff, make_session, core):
    _p, Manager, Engineer = staff
    sel = sa.select if core else select
    s = make_session()
    with _aliasing():
        got = s.execute(sel(Manager.name, Engineer.name).join(Manager.engineers)
                        .order_by(Engineer.name)).all()
        assert got == [("foo", "dilbert"), ("dogbert", "wally")]
        got = s.scalars(sel(Manager).join(Manager.engineers)
                        .where(Engineer.name == "dilbert")).all()
        assert _names(got) == ["foo"]
        got = s.scalars(sel(Engineer).join(Engineer.reports_to)
                        .where(Manager.name == "dogbert")).all()
        assert _names(got) == ["wally"]


def test_relationship_comparison_of_the_joined_class_names_the_alias(staff, make_session,
                                                                      sql_log):
    _p, Manager, Engineer = staff
    s = make_session()
    with _aliasing():
        m1 = s.get(Manager, 1)
        q = s.query(Manager).join(Manager.engineers)
        assert q.filter(Engineer.reports_to == None).all() == []  # noqa: E711
        assert q.filter(Engineer.reports_to == m1).all() == [m1]
        assert "FROM people, " not in sql_log.statements[-1]


def test_mixed_entities_of_both_classes(staff, make_session):
    _p, Manager, Engineer = staff
    s = make_session()
    with _aliasing():
        got = s.query(Manager, Engineer).join(Manager.engineers) \
            .order_by(Manager.name.desc()).all()
        assert [(m.name, e.name) for m, e in got] == [("foo", "dilbert"), ("dogbert", "wally")]
        assert all(type(e) is Engineer for _m, e in got)


@pytest.fixture
def abcd(engine, make_session):
    Base = declarative_base()

    class A(Base):
        __tablename__ = "a"
        id = Column(Integer, primary_key=True)
        name = Column(String(30))
        type = Column(String(10))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "a"}

    class B(A):
        __tablename__ = "b"
        id = Column(ForeignKey("a.id"), primary_key=True)
        __mapper_args__ = {"polymorphic_identity": "b"}

    class C(A):
        __tablename__ = "c"
        id = Column(ForeignKey("a.id"), primary_key=True)
        bid = Column(ForeignKey("b.id"))
        __mapper_args__ = {"polymorphic_identity": "c", "inherit_condition": id == A.id}

    class D(A):
        __tablename__ = "d"
        id = Column(ForeignKey("a.id"), primary_key=True)
        cid = Column(ForeignKey("c.id"))
        __mapper_args__ = {"polymorphic_identity": "d", "inherit_condition": id == A.id}

    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([B(id=1, name="b1"), B(id=2, name="b2"), C(id=3, name="c1", bid=1),
               C(id=4, name="c2", bid=2), D(id=5, name="d1", cid=3)])
    s.commit()
    s.close()
    return B, C, D


def test_query_join_to_sibling_subclass_with_own_on_clause(abcd, make_session):
    B, C, D = abcd
    s = make_session()
    with _aliasing():
        q = s.query(B.name, C.name, D.name).select_from(B) \
            .join(C, C.bid == B.id).join(D, D.cid == C.id)
        assert q.all() == [("b1", "c1", "d1")]
        assert s.query(B.name, C.name).join(C, C.bid == B.id).order_by(C.name.desc()).all() \
            == [("b2", "c2"), ("b1", "c1")]
        assert _names(s.query(B).join(C, C.bid == B.id).filter(C.name == "c2")) == ["b2"]


def test_select_join_to_sibling_subclass_with_own_on_clause(abcd, make_session):
    B, C, D = abcd
    s = make_session()
    with _aliasing():
        stmt = select(B.name, C.name, D.name).select_from(B) \
            .join(C, C.bid == B.id).join(D, D.cid == C.id)
        assert s.execute(stmt).all() == [("b1", "c1", "d1")]
        got = s.scalars(select(B).join(C, C.bid == B.id).where(C.name == "c2")).all()
        assert _names(got) == ["b2"]


def test_query_join_to_subclass_of_the_queried_base_without_on_clause(abcd, make_session,
                                                                       sql_log):
    B, C, _D = abcd
    A = B.__mro__[1]
    s = make_session()
    with _aliasing():
        assert s.query(A.name).join(B).order_by(A.id).all() == [("b1",), ("b2",)]
        assert s.query(A.name).join(C).filter(C.name == "c1").all() == [("c1",)]
    sql = sql_log.matching("SELECT")[-1].replace("INNER JOIN", "JOIN")
    assert "JOIN (a AS a_1 JOIN c AS c_1 ON c_1.id = a_1.id) ON a.id = c_1.id" in sql
    assert "WHERE a_1.name = " in sql
