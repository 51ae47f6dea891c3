"""``joinedload()`` of a relationship to a joined-table hierarchy reads the subclass
columns it is asked for in the same SELECT: those of the target mapper's
``with_polymorphic`` (a crash before: the eager join did not include their tables),
and those of ``of_type(Sub)`` / ``of_type(with_polymorphic(...))``."""

import pytest
from sqlalchemy import ForeignKey, String

from datamapper import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    mapped_column,
    relationship,
    select,
    with_polymorphic,
)


def _models(metadata, configured_poly):
    class Base(DeclarativeBase):
        pass

    Base.registry.metadata = metadata
    Base.metadata = metadata

    class Company(Base):
        __tablename__ = "jes_companies"
        id: Mapped[int] = mapped_column(primary_key=True)
        staff: Mapped[list["Worker"]] = relationship(order_by="Worker.id")

    class Worker(Base):
        __tablename__ = "jes_workers"
        id: Mapped[int] = mapped_column(primary_key=True)
        company_id: Mapped[int] = mapped_column(ForeignKey("jes_companies.id"))
        kind: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "worker",
                           **({"with_polymorphic": "*"} if configured_poly else {})}

    class Coder(Worker):
        __tablename__ = "jes_coders"
        id: Mapped[int] = mapped_column(ForeignKey("jes_workers.id"), primary_key=True)
        lang: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_identity": "coder"}

    class Boss(Worker):
        __tablename__ = "jes_bosses"
        id: Mapped[int] = mapped_column(ForeignKey("jes_workers.id"), primary_key=True)
        title: Mapped[str] = mapped_column(String(20))
        __mapper_args__ = {"polymorphic_identity": "boss"}

    return Base, Company, Worker, Coder, Boss


@pytest.mark.parametrize("configured_poly", [True, False], ids=["with_polymorphic_star", "plain"])
@pytest.mark.parametrize("target", ["plain", "of_type", "of_type_wp"])
def test_joined_eager_load_reads_the_subclass_columns_in_one_select(
        metadata, engine, sql_log, configured_poly, target):
    Base, Company, Worker, Coder, Boss = _models(metadata, configured_poly)
    metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Company(id=1, staff=[Coder(id=1, lang="py"), Boss(id=2, title="ceo"),
                                   Worker(id=3)]))
        s.commit()
    attr = {"plain": Company.staff, "of_type": Company.staff.of_type(Coder),
            "of_type_wp": Company.staff.of_type(with_polymorphic(Worker, [Coder], flat=True))
            }[target]
    with Session(engine) as s:
        sql_log.clear()
        c = s.scalars(select(Company).options(joinedload(attr))).unique().one()
        assert len(sql_log.matching("SELECT")) == 1
        got = [(type(w).__name__, w.__dict__.get("lang"), w.__dict__.get("title"))
               for w in c.staff]
        coder_cols = configured_poly or target != "plain"
        assert got == [("Coder", "py" if coder_cols else None, None),
                       ("Boss", None, "ceo" if configured_poly else None),
                       ("Worker", None, None)]
        assert [getattr(w, "lang", None) or getattr(w, "title", None) for w in c.staff] == [
            "py", "ceo", None]  # the rest loads on access
    Base.registry.dispose()
