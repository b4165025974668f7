"""Mirror's own delivery state. The core outbox stays append-only; what was fanned out and delivered
to which platform lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow


class MirrorJob(Base):
    """One thing to tell one platform. Stock jobs are one row per (platform, SKU): every change bumps
    `generation`, and delivery sends the latest absolute quantity, so a burst of changes coalesces into
    one write. Order jobs are one row per (platform, order)."""

    __tablename__ = "mirror_jobs"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "key", name="uq_mirror_jobs_channel_kind_key"),
        Index("ix_mirror_jobs_due", "channel", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # stock | order
    key: Mapped[str] = mapped_column(String(128))  # sku | liveshop order id
    product_id: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | dead
    generation: Mapped[int] = mapped_column(Integer, default=1)
    sent_generation: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_value: Mapped[int | None] = mapped_column(Integer)  # stock: the quantity the platform holds
    last_error: Mapped[str | None] = mapped_column(Text)
    calls: Mapped[int] = mapped_column(Integer, default=0)  # platform requests spent on this row
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MirrorCursor(Base):
    """Named positions: `outbox` (every outbox id at or below it was fanned out), `poll:<platform>`."""

    __tablename__ = "mirror_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MirrorSeen(Base):
    """Outbox rows fanned out above the cursor (ids can commit out of order on PostgreSQL)."""

    __tablename__ = "mirror_seen"

    outbox_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class MirrorWebhook(Base):
    """Platform webhook deliveries already processed, so a replay changes nothing."""

    __tablename__ = "mirror_webhooks"
    __table_args__ = (UniqueConstraint("channel", "delivery_id", name="uq_mirror_webhooks_delivery"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
