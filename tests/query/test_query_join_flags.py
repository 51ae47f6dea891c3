"""``Query.join(..., full=True)`` / ``Query.outerjoin(..., full=True)`` emit a FULL
OUTER JOIN (the flag was ignored before: a LEFT OUTER JOIN was sent), and an unknown
keyword argument to ``join()`` / ``outerjoin()`` is a TypeError (it was swallowed)."""

import pytest


@pytest.fixture
def filled(models, make_session):
    User, Address = models
    s = make_session()
    s.add_all([User(id=1, name="ed", addresses=[Address(id=1, email="ed@x")]),
               User(id=2, name="wendy"), Address(id=2, email="nobody@x")])
    s.commit()
    s.close()
    return User, Address


@pytest.mark.parametrize("how", ["join", "outerjoin"])
def test_full_flag_emits_a_full_outer_join(filled, make_session, sql_log, backend_name, how):
    User, Address = filled
    s = make_session()
    q = s.query(User.name, Address.email)
    q = (q.join(User.addresses, full=True) if how == "join"
         else q.outerjoin(User.addresses, full=True))
    assert "FULL OUTER JOIN addresses" in str(q)
    if backend_name == "mysql":
        return  # MySQL has no FULL OUTER JOIN
    rows = sorted(q.all(), key=lambda r: (r[0] or "", r[1] or ""))
    assert rows == [(None, "nobody@x"), ("ed", "ed@x"), ("wendy", None)]
    assert "FULL OUTER JOIN" in sql_log[-1]


@pytest.mark.parametrize("how", ["join", "outerjoin"])
def test_unknown_keyword_to_join_is_a_type_error(filled, make_session, how):
    User, _a = filled
    q = make_session().query(User)
    with pytest.raises(TypeError, match="foob"):
        getattr(q, how)(User.addresses, foob="bar")
