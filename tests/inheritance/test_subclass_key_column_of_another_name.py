"""A joined-table subclass whose primary key column has another column name than its
base's (``id = Column("eid", ForeignKey("person.id"))`` under the base's ``id``): the
attribute maps both columns, so the base row's generated key reaches the subclass row."""

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String


@pytest.mark.parametrize("base_col,sub_col", [("pid", "id"), ("id", "eid"), ("pid", "eid")])
def test_subclass_key_of_another_column_name_is_written_and_read(
        Base, engine, make_session, read_rows, base_col, sub_col):
    class Person(Base):
        __tablename__ = "kc_person"
        id = Column(base_col, Integer, primary_key=True)
        name = Column(String(20))

    class Engineer(Person):
        __tablename__ = "kc_engineer"
        id = Column(sub_col, Integer, ForeignKey(f"kc_person.{base_col}"), primary_key=True)
        lang = Column(String(20))

    assert set(Engineer.id.property.columns) == {
        Person.__table__.c[base_col], Engineer.__table__.c[sub_col]}
    Base.metadata.create_all(engine)
    s = make_session()
    s.add_all([Person(name="p"), Engineer(name="e", lang="py")])
    s.commit()
    assert read_rows(Person.__table__) == [(1, "p"), (2, "e")]
    assert read_rows(Engineer.__table__) == [(2, "py")]
    s.close()
    s = make_session()
    e = s.query(Engineer).filter(Engineer.id == 2).one()
    assert (e.id, e.name, e.lang) == (2, "e", "py")
    e.lang = "c"
    s.commit()
    assert read_rows(Engineer.__table__) == [(2, "c")]
