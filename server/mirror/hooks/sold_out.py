"""`offer.sold_out`: the room's stock events are in-process and frequent, so the first one that shows
an offer with no units left becomes one durable outbox row (off the claim path), which the fan-out
turns into webhook deliveries like any other event."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.events import OFFER_SOLD_OUT, OFFER_STOCK, Event, EventBus

log = logging.getLogger("liveshop.mirror.hooks")
REMEMBER = 50_000  # offers this node has announced; more than that and it forgets the oldest


def watch_sold_out(events: EventBus, db: async_sessionmaker[AsyncSession]) -> set[asyncio.Task[None]]:
    """Subscribes to stock events; returns the set of writes in flight (to await on shutdown)."""
    announced: dict[str, None] = {}
    writes: set[asyncio.Task[None]] = set()

    async def record(offer: dict[str, Any], broadcast_id: str | None) -> None:
        try:
            async with db() as session, session.begin():
                EventBus.record(
                    session, OFFER_SOLD_OUT, offer["id"], {"offer": offer, "broadcast_id": broadcast_id}
                )
        except Exception as exc:  # the next stock event of this offer tries again
            announced.pop(offer["id"], None)
            log.warning("sold-out event not recorded offer=%s error=%r", offer["id"], exc)

    def on_stock(event: Event) -> None:
        offer = event.data.get("offer") or {}
        if offer.get("available") != 0 or offer.get("status") != "active" or offer.get("id") in announced:
            return
        # an offer being ended reads available 0 too, its unsold units gone back to the shelf
        if int(offer.get("held", 0)) + int(offer.get("sold", 0)) < int(offer.get("quantity", 1)):
            return
        announced[offer["id"]] = None
        if len(announced) > REMEMBER:
            announced.pop(next(iter(announced)))
        task = asyncio.ensure_future(record(dict(offer), event.data.get("broadcast_id")))
        writes.add(task)
        task.add_done_callback(writes.discard)

    events.subscribe(OFFER_STOCK, on_stock)
    return writes
