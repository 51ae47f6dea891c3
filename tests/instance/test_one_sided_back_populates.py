"""``back_populates=`` given on one side only mirrors that side's changes: appending
to ``Company.engineers`` (which names ``company``) sets the engineer's ``company``,
while setting ``Employee.company`` (which names nothing) leaves
``Company.engineers`` alone, as in SQLAlchemy.  Before, both sides mirrored each
other: a Manager given ``company=c`` landed in ``c.engineers`` (a collection of
Engineers), and the flush refused it; a many-to-many kept by hand on both sides got
each member twice."""

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import relationship


def test_only_the_side_naming_back_populates_mirrors(Base, engine, make_session,
                                                     read_rows):
    class Company(Base):
        __tablename__ = "osb_companies"
        id = Column(Integer, primary_key=True)
        engineers = relationship("Engineer", back_populates="company")

    class Employee(Base):
        __tablename__ = "osb_employees"
        id = Column(Integer, primary_key=True)
        name = Column(String(20))
        type = Column(String(20))
        company_id = Column(ForeignKey("osb_companies.id"))
        company = relationship(Company)
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "employee"}

    class Manager(Employee):
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Engineer(Employee):
        __mapper_args__ = {"polymorphic_identity": "engineer"}

    Base.metadata.create_all(engine)
    c = Company(id=1)
    m = Manager(id=1, name="m", company=c)
    e1 = Engineer(id=2, name="e1", company=c)
    assert c.engineers == []
    e2 = Engineer(id=3, name="e2")
    c.engineers.append(e2)
    assert e2.company is c
    s = make_session()
    s.add_all([c, m, e1])
    s.commit()
    assert read_rows("SELECT id, name, company_id FROM osb_employees ORDER BY id") == [
        (1, "m", 1), (2, "e1", 1), (3, "e2", 1)]
    s.close()
    assert sorted(e.name for e in s.get(Company, 1).engineers) == ["e1", "e2"]


def test_many_to_many_kept_by_hand_on_the_other_side_gets_each_row_once(
        Base, engine, make_session, read_rows):
    link = Table("osb_links", Base.metadata,
                 Column("a_id", ForeignKey("osb_a.id"), primary_key=True),
                 Column("b_id", ForeignKey("osb_b.id"), primary_key=True))

    class A(Base):
        __tablename__ = "osb_a"
        id = Column(Integer, primary_key=True)
        bs = relationship("B", secondary=link, back_populates="as_")

    class B(Base):
        __tablename__ = "osb_b"
        id = Column(Integer, primary_key=True)
        as_ = relationship(A, secondary=link)

    Base.metadata.create_all(engine)
    a, b = A(id=1), B(id=2)
    a.bs.append(b)
    assert b.as_ == [a]
    b.as_.append(a)  # by hand on the side that mirrors nothing: a.bs is left alone
    assert a.bs == [b]
    s = make_session()
    s.add(a)
    s.commit()
    assert read_rows("SELECT a_id, b_id FROM osb_links") == [(1, 2)]
