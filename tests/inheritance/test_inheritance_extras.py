"""Mapper inheritance beyond loading and flushing: relationships declared on a
joined-table subclass over its base table's foreign key, versioned hierarchies,
concrete subclasses and binds."""

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from datamapper import Session, registry, relationship


def _tables(reg):
    companies = Table("companies", reg.metadata, Column("id", Integer, primary_key=True),
                      Column("name", String(20)))
    base = Table("base", reg.metadata, Column("id", Integer, primary_key=True),
                 Column("version_id", Integer), Column("data", String(20)),
                 Column("company_id", ForeignKey("companies.id")))
    sub = Table("sub", reg.metadata, Column("id", ForeignKey("base.id"), primary_key=True),
                Column("sub_data", String(20)))
    return companies, base, sub


def test_subclass_relationship_uses_base_table_foreign_key(engine, make_session, read_rows):
    reg = registry()
    companies, base, sub = _tables(reg)

    class Company:
        pass

    class Base:
        pass

    class Sub(Base):
        pass

    reg.map_imperatively(Company, companies)
    reg.map_imperatively(Base, base)
    reg.map_imperatively(Sub, sub, inherits=Base,
                         properties={"company": relationship(Company)})
    reg.metadata.create_all(engine)
    s = make_session()
    s.add(Sub(data="d", sub_data="s", company=Company(name="acme")))
    s.commit()
    assert read_rows(base) == [(1, None, "d", 1)]
    s.close()
    assert s.query(Sub).one().company.name == "acme"


def test_versioned_subclass_change_in_its_own_table_moves_the_version(
        engine, make_session, read_rows):
    reg = registry()
    _c, base, sub = _tables(reg)

    class Base:
        pass

    class Sub(Base):
        pass

    reg.map_imperatively(Base, base, version_id_col=base.c.version_id,
                         exclude_properties=["company_id"])
    reg.map_imperatively(Sub, sub, inherits=Base)
    reg.metadata.create_all(engine)
    s = make_session()
    obj = Sub(data="d", sub_data="s")
    s.add(obj)
    s.commit()
    obj.sub_data = "s2"
    s.commit()
    assert obj.version_id == 2
    assert read_rows(base) == [(1, 2, "d", None)]
    assert read_rows(sub) == [(1, "s2")]
    assert Sub.sub_data.get_history(obj) == ((), ["s2"], ())


def test_concrete_subclass_maps_its_own_table_and_takes_base_binds(engine):
    reg = registry()
    _c, base, _s = _tables(reg)
    other = Table("other", reg.metadata, Column("id", Integer, primary_key=True),
                  Column("x", String(10)))

    class Base:
        pass

    class Concrete(Base):
        pass

    bm = reg.map_imperatively(Base, base)
    cm = reg.map_imperatively(Concrete, other, inherits=Base, concrete=True)
    assert cm.isa(bm) and cm.concrete
    assert set(cm.attrs.keys()) == {"id", "x"}  # nothing inherited
    s = Session(binds={Base: engine})
    assert s.get_bind(Concrete) is engine
    s.close()
