"""Payments' own tables: each attempt to take money for an order, and each provider event seen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow


class Payment(Base):
    """One provider-side payment for one order (a buyer who pays twice has two; the second is refunded).

    status: created | requires_action | failed (declined; the buyer may try again) | succeeded |
    canceled | refund_pending (decided, the provider not yet told) | refunded."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),
        Index("ix_payments_status_updated", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # stripe | toss
    provider_ref: Mapped[str] = mapped_column(String(200))  # pi_... | Toss paymentKey
    amount: Mapped[int] = mapped_column(Integer)  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="created")
    refund_ref: Mapped[str | None] = mapped_column(String(200))
    refund_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PaymentEvent(Base):
    """A provider event applied (or refused): its id makes a redelivery change nothing."""

    __tablename__ = "payment_events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # provider:event id
    provider: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
