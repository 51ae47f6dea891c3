"""selectinload(Bar.foos.of_type(SubFoo or with_polymorphic(...))).joinedload(SubFoo.user)
(or subqueryload(...)): the SELECT of the subclass rows reads the subclass's table, so
the joinedload of the subclass's relationship joins from it, in that SELECT.  It was silently turned
into a lazy load (one more SELECT per object on access).  What the database sees."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String

from datamapper import Session, relationship, selectinload, subqueryload, with_polymorphic


@pytest.fixture
def M(Base, engine):
    class User(Base):
        __tablename__ = "sj_users"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))

    class Foo(Base):
        __tablename__ = "sj_foos"
        __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "foo"}
        id = Column(Integer, primary_key=True)
        type = Column(String(20), nullable=False)
        bar_id = Column(Integer, ForeignKey("sj_bars.id"))

    class SubFoo(Foo):
        __tablename__ = "sj_subfoos"
        __mapper_args__ = {"polymorphic_identity": "sub"}
        id = Column(Integer, ForeignKey("sj_foos.id"), primary_key=True)
        user_id = Column(Integer, ForeignKey("sj_users.id"))
        user = relationship(User)

    class Bar(Base):
        __tablename__ = "sj_bars"
        id = Column(Integer, primary_key=True)
        foos = relationship(Foo, order_by=Foo.id)

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Bar(id=1, foos=[SubFoo(id=1, user=User(id=1, name="u1")), Foo(id=2),
                                   SubFoo(id=3, user=None)]),
                   Bar(id=2, foos=[SubFoo(id=4, user=User(id=2, name="u2"))])])
        s.commit()

    class Models:
        pass

    m = Models()
    m.User, m.Foo, m.SubFoo, m.Bar = User, Foo, SubFoo, Bar
    return m


@pytest.mark.parametrize("loader", [selectinload, subqueryload])
@pytest.mark.parametrize("entity", ["subclass", "with_polymorphic", "aliased_polymorphic"])
def test_joinedload_below_selectinload_of_type_joins_in_its_select(M, engine, sql_log, entity,
                                                                   loader):
    Foo, SubFoo, Bar = M.Foo, M.SubFoo, M.Bar
    if entity == "subclass":
        target, sub = SubFoo, SubFoo
    else:
        target = with_polymorphic(Foo, [SubFoo], aliased=entity == "aliased_polymorphic")
        sub = target.SubFoo
    s = Session(engine)
    sql_log.clear()
    bars = s.query(Bar).options(
        loader(Bar.foos.of_type(target)).joinedload(sub.user)).order_by(Bar.id).all()
    assert len(sql_log.matching("SELECT")) == 2  # the bars, the foos with their users
    assert "sj_users" in sql_log.matching("SELECT")[1]
    sql_log.clear()
    assert [[(f.id, type(f).__name__) for f in b.foos] for b in bars] == \
        [[(1, "SubFoo"), (2, "Foo"), (3, "SubFoo")], [(4, "SubFoo")]]
    assert [f.user.name if f.user else None for f in bars[0].foos if isinstance(f, SubFoo)] \
        == ["u1", None]
    assert bars[1].foos[0].user.name == "u2"
    assert sql_log.count == 0
    s.close()
