"""Keys copied during a flush from objects a commit expired (their __dict__ is
empty): foreign keys and association rows get the real values, never NULL."""

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import relationship


def test_new_child_assigned_to_an_expired_parent_gets_its_key(session, models, read_rows,
                                                               sql_log):
    User, Address = models
    u = User(id=7, name="u")
    session.add(u)
    session.commit()  # u is expired now
    a = Address(id=1, email="a@x")
    a.user = u
    sql_log.clear()
    session.commit()
    assert read_rows(Address.__table__) == [(1, "a@x", 7)]
    # the parent's primary key comes from its identity: no SELECT of the parent
    assert not [s for s in sql_log.statements if "FROM users" in s]


def test_persistent_child_moved_to_an_expired_parent_gets_its_key(session, models, read_rows):
    User, Address = models
    u1, u2 = User(id=1, name="one"), User(id=2, name="two")
    a = Address(id=5, email="a@x", user=u1)
    session.add_all([u1, u2, a])
    session.commit()
    a.user = u2
    session.commit()
    assert read_rows(Address.__table__) == [(5, "a@x", 2)]


def test_association_row_between_expired_objects_gets_both_keys(Base, engine, session,
                                                                 read_rows):
    links = Table("post_tags", Base.metadata,
                  Column("post_id", Integer, ForeignKey("posts.id"), primary_key=True),
                  Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True))

    class Post(Base):
        __tablename__ = "posts"
        id = Column(Integer, primary_key=True)
        tags = relationship("Tag", secondary=links)

    class Tag(Base):
        __tablename__ = "tags"
        id = Column(Integer, primary_key=True)

    Base.metadata.create_all(engine)
    p, t = Post(id=3), Tag(id=9)
    session.add_all([p, t])
    session.commit()  # both expired
    p.tags.append(t)
    session.commit()
    assert read_rows(links) == [(3, 9)]


def test_key_on_a_non_primary_key_column_of_an_expired_parent_is_loaded(Base, engine,
                                                                        session, read_rows):
    class Account(Base):
        __tablename__ = "accounts"
        id = Column(Integer, primary_key=True)
        code = Column(String(10), unique=True, nullable=False)

    class Entry(Base):
        __tablename__ = "entries"
        id = Column(Integer, primary_key=True)
        account_code = Column(String(10), ForeignKey("accounts.code"))
        account = relationship(Account)

    Base.metadata.create_all(engine)
    acct = Account(id=1, code="ACME")
    session.add(acct)
    session.commit()
    e = Entry(id=1, account=acct)
    session.add(e)
    session.commit()
    assert read_rows(Entry.__table__) == [(1, "ACME")]


def test_child_key_from_a_server_default_of_a_parent_inserted_in_the_same_flush(
        Base, engine, session, read_rows, sql_log):
    """The parent's referenced column is filled in by the database (server_default): the
    flush reads it back after the parent's INSERT, and the child's foreign key gets it."""
    from datamapper import relationship as rel

    class Hoho(Base):
        __tablename__ = "hoho"
        id = Column(Integer, primary_key=True)
        code = Column(String(20), server_default="im hoho", unique=True)
        kids = rel("Kid", order_by="Kid.id")

    class Kid(Base):
        __tablename__ = "kid"
        id = Column(Integer, primary_key=True)
        code = Column(String(20), ForeignKey("hoho.code"))

    Base.metadata.create_all(engine)
    h = Hoho(id=1, kids=[Kid(id=1)])
    session.add(h)
    sql_log.clear()
    session.commit()
    assert read_rows(Kid.__table__) == [(1, "im hoho")]
    assert len([s for s in sql_log.statements if s.startswith("SELECT")]) == 1
    h = session.get(Hoho, 1)
    h.kids.append(Kid(id=2))
    session.commit()
    assert read_rows(Kid.__table__) == [(1, "im hoho"), (2, "im hoho")]
