"""UPDATE by primary key (session.execute(update(Boss), [dicts])) of a class three
joined-table levels deep, whose key attribute names differ per table (person_id,
boss_id): every table's row is written, and the session's objects take the values."""

from sqlalchemy import Column, ForeignKey, Integer, String, update


def test_update_by_primary_key_of_a_three_level_joined_class(Base, engine, session,
                                                              read_rows):
    class Person(Base):
        __tablename__ = "bk_people"
        person_id = Column(Integer, primary_key=True)
        name = Column(String(30))
        type = Column(String(30))
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "person"}

    class Manager(Person):
        __tablename__ = "bk_managers"
        person_id = Column(Integer, ForeignKey("bk_people.person_id"), primary_key=True)
        manager_name = Column(String(30))
        __mapper_args__ = {"polymorphic_identity": "manager"}

    class Boss(Manager):
        __tablename__ = "bk_boss"
        boss_id = Column(Integer, ForeignKey("bk_managers.person_id"), primary_key=True)
        golf_swing = Column(String(30))
        __mapper_args__ = {"polymorphic_identity": "boss"}

    Base.metadata.create_all(engine)
    b1, b3 = Boss(name="b1", manager_name="mn1", golf_swing="g1"), \
        Boss(name="b3", manager_name="mn3", golf_swing="g3")
    session.add_all([b1, b3])
    session.commit()
    session.execute(update(Boss), [
        {"person_id": b1.person_id, "boss_id": b1.boss_id, "name": "b1_updated",
         "manager_name": "mn1_updated"},
        {"person_id": b3.person_id, "boss_id": b3.boss_id, "golf_swing": "g3_updated"},
    ])
    assert (b1.name, b1.manager_name, b3.golf_swing) == ("b1_updated", "mn1_updated",
                                                         "g3_updated")
    session.commit()
    assert read_rows("SELECT p.name, m.manager_name, b.golf_swing FROM bk_people p "
                     "JOIN bk_managers m ON m.person_id = p.person_id "
                     "JOIN bk_boss b ON b.boss_id = m.person_id ORDER BY p.person_id") == [
        ("b1_updated", "mn1_updated", "g1"), ("b3", "mn3", "g3_updated")]
