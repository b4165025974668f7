"""Giveaways and their entries (every acknowledged entry is a row here; the draw reads these rows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow


class Giveaway(Base):
    __tablename__ = "giveaways"
    __table_args__ = (Index("ix_giveaways_broadcast_status", "broadcast_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    keyword: Mapped[str | None] = mapped_column(String(32))  # a chat message that is exactly it enters
    buyers_only: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed | drawn | canceled
    # The seed stays secret until the draw; its SHA-256 is public from the start.
    seed: Mapped[str] = mapped_column(String(64))
    seed_commitment: Mapped[str] = mapped_column(String(64))
    entrants_hash: Mapped[str | None] = mapped_column(String(64))  # set at the close
    entrant_count: Mapped[int | None] = mapped_column(Integer)
    winner_id: Mapped[str | None] = mapped_column(String(40))
    winner_nickname: Mapped[str | None] = mapped_column(String(64))
    winner_index: Mapped[int | None] = mapped_column(Integer)  # 0-based, in the frozen list
    # The one-unit, zero-price offer that carries the winner's hold, and the order it became.
    offer_id: Mapped[str | None] = mapped_column(String(40))
    order_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GiveawayEntry(Base):
    __tablename__ = "giveaway_entries"
    __table_args__ = (
        UniqueConstraint("giveaway_id", "user_id", name="uq_giveaway_entries_person"),
        Index("ix_giveaway_entries_order", "giveaway_id", "seq"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    giveaway_id: Mapped[str] = mapped_column(ForeignKey("giveaways.id"))
    user_id: Mapped[str] = mapped_column(String(40))
    nickname: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)  # Redis's number for the entry: the list's order
    via: Mapped[str] = mapped_column(String(8))  # button | chat
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
