"""Accounts and shops: hosts and viewers, the shops hosts belong to; the tables authentication reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # host | viewer
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    nickname: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Epoch seconds: tokens issued before it are refused (logout, a password change, a demotion).
    tokens_valid_after: Mapped[float] = mapped_column(Float, default=0.0)
    # The network key (hashed address) a guest session was made from, so a ban can hold the person.
    origin_network: Mapped[str | None] = mapped_column(String(40))


# The languages the pages speak (web/app/i18n/<code>.json); a shop picks its default among them.
SHOP_LANGUAGES = ("en", "ko", "pl")
DEFAULT_LANGUAGE = "en"
DEFAULT_CURRENCY = "USD"


class Shop(Base):
    """A brand selling on this deployment: its staff share its catalog, broadcasts and orders."""

    __tablename__ = "shops"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The pages' language when a browser asks for none of SHOP_LANGUAGES, and the chat's extra buy words.
    language: Mapped[str] = mapped_column(String(8), default=DEFAULT_LANGUAGE)
    # ISO 4217: the currency of a new product when the host names none.
    currency: Mapped[str] = mapped_column(String(3), default=DEFAULT_CURRENCY)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Membership(Base):
    """A host account's place in a shop (one shop per account): `owner` manages staff, `host` sells."""

    __tablename__ = "memberships"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="host")  # owner | host
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
