"""A short guided run of datamapper on an embedded SQLite database.

``python -m datamapper.demo`` maps two classes, walks an object through
transient -> pending -> persistent -> detached, prints the SQL each flush
sends, and shows the identity map handing back the same object.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, create_engine, event

from . import DeclarativeBase, Mapped, Session, inspect, mapped_column, relationship


def _lifecycle(obj: object) -> str:
    st = inspect(obj)
    for name in ("transient", "pending", "persistent", "deleted", "detached"):
        if getattr(st, name):
            return name
    return "?"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    fullname: Mapped[str | None] = mapped_column(String(100))
    addresses: Mapped[list[Address]] = relationship(back_populates="user",
                                                    order_by="Address.id")

    def __repr__(self) -> str:
        return f"User({self.name!r})"


class Address(Base):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    email: Mapped[str] = mapped_column(String(100))
    user: Mapped[User | None] = relationship(back_populates="addresses")

    def __repr__(self) -> str:
        return f"Address({self.email!r})"


def main() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)

    @event.listens_for(engine, "before_cursor_execute")
    def show_sql(conn: object, cursor: object, statement: str, params: object, context: object,
                 executemany: bool) -> None:
        many = " (executemany)" if executemany else ""
        print(f"    SQL{many}: {' '.join(statement.split())}  {params!r}"[:160])

    print("1. A new object is transient: no session, no identity.")
    ed = User(name="ed", fullname="Ed Jones")
    print(f"   ed is {_lifecycle(ed)}")

    session = Session(engine)
    print("2. add() makes it pending: it waits for the next flush.")
    session.add(ed)
    session.add_all([User(name="wendy"), User(name="mary")])
    print(f"   ed is {_lifecycle(ed)}; session.new has {len(session.new)} objects")

    print("3. flush() writes all pending objects in one batched INSERT.")
    session.flush()
    print(f"   ed is {_lifecycle(ed)} with identity key {inspect(ed).key}")

    print("4. Changes are tracked; the next flush UPDATEs only changed columns.")
    ed.fullname = "Edward Jones"
    session.add(Address(user_id=ed.id, email="ed@example.com"))
    print(f"   dirty: {list(session.dirty)}, new: {list(session.new)}")
    session.commit()

    print("5. The identity map returns the very same object for the same key.")
    again = session.get(User, ed.id)
    print(f"   session.get(User, {ed.id}) is ed -> {again is ed} (values reloaded once after commit)")
    same = session.query(User).filter_by(name="ed").one()
    print(f"   query(User).filter_by(name='ed').one() is ed -> {same is ed} (no new object)")

    print("6. close() detaches every object; its loaded values stay readable.")
    session.close()
    print(f"   ed is {_lifecycle(ed)}; ed.fullname = {ed.fullname!r}")

    print("7. A new session can take it back: detached -> persistent.")
    with Session(engine) as s2:
        s2.add(ed)
        print(f"   ed is {_lifecycle(ed)} in the new session")
        s2.delete(ed)
        s2.flush()
        print(f"   after delete + flush ed is {_lifecycle(ed)}")
        s2.rollback()
        print(f"   after rollback ed is {_lifecycle(ed)} again")

    print("8. Relationships: a graph is saved parents first, keys copied to children.")
    with Session(engine, echo_uow=True) as s3:
        jack = User(name="jack", addresses=[Address(email="jack@example.com"),
                                            Address(email="j25@example.com")])
        print(f"   the backref is set in memory: {jack.addresses[0].user!r}")
        s3.add(jack)  # the addresses come along (save-update cascade)
        s3.commit()
        addr = s3.query(Address).filter_by(email="j25@example.com").one()
        print("   jack is in the identity map, so addr.user costs no SQL:")
        print(f"   addr.user is jack -> {addr.user is jack}")


if __name__ == "__main__":
    main()
