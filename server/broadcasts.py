"""Broadcasts: their table and status transitions, shared by the REST API (commerce), the room (live) and the
encoder (media)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow
from server.errors import DomainError, NotFound
from server.events import BROADCAST_STATUS, EventBus


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), index=True)
    host_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | live | ended
    stream_key: Mapped[str] = mapped_column(String(80), unique=True)
    pinned_product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


TRANSITIONS = {"scheduled": {"live", "ended"}, "live": {"live", "ended"}, "ended": set()}


def broadcast_public(b: Broadcast, base_url: str = "") -> dict[str, Any]:
    """What anyone may see of a broadcast (no stream key)."""
    return {
        "id": b.id,
        "title": b.title,
        "status": b.status,
        "host_id": b.host_id,
        "shop_id": b.shop_id,
        "created_at": b.created_at.isoformat(),
        "started_at": b.started_at.isoformat() if b.started_at else None,
        "ended_at": b.ended_at.isoformat() if b.ended_at else None,
        "watch_url": f"{base_url}/watch/{b.id}",
    }


async def set_status(
    sessionmaker: async_sessionmaker[AsyncSession],
    events: EventBus,
    broadcast_id: str,
    status: str,
    *,
    shop_id: str | None = None,
) -> Broadcast:
    """Move a broadcast to `status` (live or ended) and tell the room. Ended is final."""
    async with sessionmaker() as session, session.begin():
        b = await session.get(Broadcast, broadcast_id, with_for_update=True)
        if b is None or (shop_id is not None and b.shop_id != shop_id):
            raise NotFound("broadcast")  # another shop's broadcast is nobody's business
        if status not in TRANSITIONS[b.status]:
            raise DomainError("broadcast_ended", f"The broadcast is {b.status}")
        changed = b.status != status
        b.status = status
        if status == "live" and b.started_at is None:
            b.started_at = utcnow()
        if status == "ended":
            b.ended_at = utcnow()
    if changed:
        # Relayed: every node's media sessions and room caches must hear a broadcast end at once.
        await events.publish(BROADCAST_STATUS, {"broadcast": broadcast_public(b)}, relay=True)
    return b
