"""Commerce's own tables: auctions and their accepted bids (every acknowledged bid is a row here), live
coupons, pins, and each broadcast's final sale report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow


class Auction(Base):
    __tablename__ = "auctions"
    __table_args__ = (Index("ix_auctions_status", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    currency: Mapped[str] = mapped_column(String(3))
    starting_bid: Mapped[int] = mapped_column(Integer)
    increment: Mapped[int] = mapped_column(Integer)
    anti_snipe_s: Mapped[int] = mapped_column(Integer)
    reserve_price: Mapped[int | None] = mapped_column(Integer)  # no sale below it
    # After the main time, how long the auction waits for the one bid that decides it (None: off).
    sudden_death_s: Mapped[int | None] = mapped_column(Integer)
    # Winners who did not pay in time, oldest first: each is passed over for the second-chance offer.
    passed_over: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended
    # The first end; each bid row carries the end it set, so the live end is the latest of them.
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    winner_id: Mapped[str | None] = mapped_column(String(40))
    winning_bid: Mapped[int | None] = mapped_column(Integer)
    # The one-unit offer that carries the winner's hold (checkout sells it like any offer's hold).
    offer_id: Mapped[str | None] = mapped_column(String(40))
    reservation_id: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuctionBid(Base):
    __tablename__ = "auction_bids"
    __table_args__ = (
        UniqueConstraint("auction_id", "bidder_id", "idempotency_key", name="uq_auction_bids_idem"),
        Index("ix_auction_bids_auction_amount", "auction_id", "amount"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    auction_id: Mapped[str] = mapped_column(ForeignKey("auctions.id"))
    bidder_id: Mapped[str] = mapped_column(String(40))
    nickname: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(Integer)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    ends_at_ms: Mapped[int] = mapped_column(BigInteger)  # the auction's end once this bid was accepted
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # The bidder's max behind this bid (private; None for a plain bid), and a later raise of it.
    max_amount: Mapped[int | None] = mapped_column(Integer)
    raised_max: Mapped[int | None] = mapped_column(Integer)


class Coupon(Base):
    """A live coupon: a code for one broadcast, percent or amount off, capped in all and per buyer."""

    __tablename__ = "coupons"
    __table_args__ = (Index("ix_coupons_broadcast_code", "broadcast_id", "code"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id"))
    code: Mapped[str] = mapped_column(String(32))  # upper case; one active per broadcast
    percent_off: Mapped[int | None] = mapped_column(Integer)  # 1..100, or
    amount_off: Mapped[int | None] = mapped_column(Integer)  # minor units of `currency`
    currency: Mapped[str | None] = mapped_column(String(3))
    max_uses: Mapped[int] = mapped_column(Integer)
    max_per_buyer: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BroadcastPin(Base):
    """One of up to three products pinned in a broadcast; the highest `seq` is the most recent pin."""

    __tablename__ = "broadcast_pins"

    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BroadcastReport(Base):
    """A broadcast's audience and claim counters as Redis had them when it ended (Redis forgets; the
    report after the show must not). Order figures are always computed from the orders themselves."""

    __tablename__ = "broadcast_reports"

    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
