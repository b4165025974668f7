"""Broadcast status transitions, shared by the REST API (commerce) and the encoder (media)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import utcnow
from server.db.models import Broadcast
from server.errors import DomainError, NotFound
from server.events import BROADCAST_STATUS, EventBus

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
