"""A mapped attribute named ``metadata`` or ``registry`` (the declarative base's own
names) warns; the attribute is still mapped and written."""

import pytest
from sqlalchemy import Column, Integer
from sqlalchemy.exc import SAWarning


@pytest.mark.parametrize("name", ["metadata", "registry"])
def test_column_named_like_the_base_machinery_warns_and_is_mapped(Base, engine, make_session,
                                                                 read_rows, name):
    with pytest.warns(SAWarning, match=f"Attribute name '{name}' should be left reserved"):
        User = type(Base)("User", (Base,), {
            "__tablename__": "rn_users", "id": Column(Integer, primary_key=True),
            name: Column(Integer)})
    Base.metadata.create_all(engine)
    s = make_session()
    s.add(User(id=1, **{name: 5}))
    s.commit()
    assert read_rows(User.__table__) == [(1, 5)]
