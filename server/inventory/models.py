"""The stock of record: products, flash offers and orders. The live counters in Redis are rebuilt from these;
commerce writes them, mirror and live read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), index=True)
    # Unique per deployment while platform accounts are (docs/SECURITY.md, "Tenancy").
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(1000))
    price: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # Units on the shelf that no live offer has taken; offers carve their quantity out of it.
    stock: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_offers_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    price: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer)
    per_buyer_limit: Mapped[int] = mapped_column(Integer)
    # Only buyers who proved an email address may claim (the host's choice, against bots).
    verified_only: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Units given back to the product's shelf stock when the offer ended (quantity - sold).
    returned: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("buyer_id", "idempotency_key", name="uq_orders_buyer_idem"),
        UniqueConstraint("channel", "external_id", name="uq_orders_channel_external"),
        Index("ix_orders_offer_status", "offer_id", "status"),
        Index("ix_orders_status_created", "status", "created_at"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="liveshop")
    external_id: Mapped[str | None] = mapped_column(String(128))
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offers.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    reservation_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    buyer_id: Mapped[str | None] = mapped_column(String(40))
    buyer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # A live coupon's share: `total` is already net of `discount` (quantity * unit_price - discount).
    coupon_id: Mapped[str | None] = mapped_column(String(40), index=True)
    coupon_code: Mapped[str | None] = mapped_column(String(32))
    discount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # confirmed: sold and counted (no online payment); pending_payment: units held until paid or
    # canceled; paid -> fulfilled: sold; canceled / refunded / cancelled: gave its units back; flagged:
    # a platform order that found no units (to be cancelled on the platform, never silently oversold).
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    # The buyer's payment as the API shows it ({provider, id, client_secret, status, deadline}), or None.
    payment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What the buyer must be told about the order's fate (e.g. refunded: sold out while paying).
    notice: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Where the buyer came from (server/api/attribution.py): the report's revenue per source.
    source: Mapped[str | None] = mapped_column(String(40))
    utm_source: Mapped[str | None] = mapped_column(String(40))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    referrer: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


SOLD_STATUSES = ("confirmed", "paid", "fulfilled")
# Orders whose units are held (not sold) until their payment decides.
HELD_STATUSES = ("pending_payment",)
