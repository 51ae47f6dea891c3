"""Mapped classes at module level, importable by name: what pickling needs (the
pickling tests in tests/instance/test_pickling.py, also from a child process)."""

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

from datamapper import attribute_keyed_dict, column_keyed_dict, declarative_base, relationship

Base = declarative_base(metadata=MetaData())

user_keywords = Table(
    "pk_user_keywords", Base.metadata,
    Column("user_id", Integer, ForeignKey("pk_users.id"), primary_key=True),
    Column("keyword_id", Integer, ForeignKey("pk_keywords.id"), primary_key=True),
)


class User(Base):
    __tablename__ = "pk_users"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    note = Column(String(50))
    addresses = relationship("Address", backref="user", order_by="Address.id")
    keywords = relationship("Keyword", secondary=user_keywords, collection_class=set)
    profile = relationship("Profile", uselist=False, backref="user")


class Address(Base):
    __tablename__ = "pk_addresses"
    id = Column(Integer, primary_key=True)
    email = Column(String(50))
    user_id = Column(Integer, ForeignKey("pk_users.id"))


class Keyword(Base):
    __tablename__ = "pk_keywords"
    id = Column(Integer, primary_key=True)
    word = Column(String(50))


class Profile(Base):
    __tablename__ = "pk_profiles"
    id = Column(Integer, primary_key=True)
    bio = Column(String(50))
    user_id = Column(Integer, ForeignKey("pk_users.id"))


class Node(Base):
    __tablename__ = "pk_nodes"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    parent_id = Column(Integer, ForeignKey("pk_nodes.id"))
    parent = relationship("Node", remote_side=[id], backref="children")


class Doc(Base):
    __tablename__ = "pk_docs"
    id = Column(Integer, primary_key=True)
    title = Column(String(50))
    version = Column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}


class Custom(Base):
    """A class with its own pickling hooks: they are used, and the state still travels."""

    __tablename__ = "pk_custom"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))

    def __getstate__(self):
        d = self.__dict__.copy()
        d["name"] = (d.get("name") or "") + "+pickled"
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self.__dict__["restored"] = True


class Book(Base):
    __tablename__ = "pk_books"
    id = Column(Integer, primary_key=True)
    title = Column(String(50))
    shelf_id = Column(Integer, ForeignKey("pk_shelves.id"))


class Shelf(Base):
    """Keyed dictionary collections (classes made at run time): they pickle too."""

    __tablename__ = "pk_shelves"
    id = Column(Integer, primary_key=True)
    by_title = relationship(Book, collection_class=attribute_keyed_dict("title"),
                            order_by=Book.id)
    by_column = relationship(Book, collection_class=column_keyed_dict(Book.__table__.c.id),
                             viewonly=True, order_by=Book.id)
