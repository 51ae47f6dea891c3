"""An association proxy as 2.x code writes it: the instance view has the declared
collection type, the class attribute builds SQL."""

from __future__ import annotations

from typing import reveal_type

from sqlalchemy import ForeignKey, select

from datamapper import (
    AssociationProxy,
    DeclarativeBase,
    Mapped,
    association_proxy,
    mapped_column,
    relationship,
)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    kws: Mapped[list[UserKeyword]] = relationship()
    keywords: AssociationProxy[list[str]] = association_proxy(
        "kws", "keyword", creator=lambda k: UserKeyword(keyword=k))


class UserKeyword(Base):
    __tablename__ = "user_keywords"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    keyword: Mapped[str]


u = User()
u.keywords.append("x")
reveal_type(u.keywords)  # E: builtins.list[builtins.str]
reveal_type(User.keywords)  # E: datamapper.associationproxy.AssociationProxyInstance[builtins.list[builtins.str]]
stmt = select(User).where(User.keywords.contains("x"))
