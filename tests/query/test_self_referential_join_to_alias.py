"""A self-referential relationship joined to an alias of its class: each key pair
compares the source row's column with the alias's (a column on both sides of a
composite key, company_id = company_id, too), and criteria besides the key pairs keep
their side."""

from sqlalchemy import Column, ForeignKeyConstraint, Integer, String, and_, select

from datamapper import aliased, relationship


def test_composite_self_referential_join_to_alias(Base, engine, make_session):
    class Emp(Base):
        __tablename__ = "sjx_emp"
        company_id = Column(Integer, primary_key=True)
        emp_id = Column(Integer, primary_key=True)
        name = Column(String(20))
        reports_to_id = Column(Integer)
        __table_args__ = (ForeignKeyConstraint(
            ["company_id", "reports_to_id"], ["sjx_emp.company_id", "sjx_emp.emp_id"]),)

    t = Emp.__table__
    Emp.reports_to = relationship(
        Emp, primaryjoin=and_(t.c.emp_id == t.c.reports_to_id,
                              t.c.company_id == t.c.company_id),
        remote_side=[t.c.emp_id, t.c.company_id],
        foreign_keys=[t.c.reports_to_id, t.c.company_id], viewonly=True)
    Base.metadata.create_all(engine)
    s = make_session()
    # the same emp_id 1 ("boss") in two companies; each company's e2 reports to its own
    s.add_all([Emp(company_id=1, emp_id=1, name="boss1"),
               Emp(company_id=2, emp_id=1, name="boss2")])
    s.flush()
    s.add_all([Emp(company_id=1, emp_id=2, name="e12", reports_to_id=1),
               Emp(company_id=2, emp_id=2, name="e22", reports_to_id=1)])
    s.commit()
    boss = aliased(Emp)
    rows = s.execute(select(Emp.name, boss.name).join(Emp.reports_to.of_type(boss))
                     .order_by(Emp.name)).all()
    assert rows == [("e12", "boss1"), ("e22", "boss2")]
    assert s.scalars(select(Emp.name).join(Emp.reports_to.of_type(boss))
                     .where(boss.name == "boss2")).all() == ["e22"]
