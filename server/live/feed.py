"""Commerce in the room: pins, offer starts and ends, and stock changes, turned into room events.

Commerce publishes its events in-process on the node where the change happened; this node emits them
to the room and the channel carries them to the other processes. Stock changes are coalesced per
offer: at most one `offer` update per interval, always a trailing one read fresh from Redis, and a
settle read a moment later, so the last update every viewer gets is the true state (sold out is never
missed, even when claims on two processes race).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.seams import MediaClock, MediaMoment
from server.events import Event
from server.inventory.engine import Counters, Inventory
from server.inventory.models import Offer
from server.live.spawn import spawn

log = logging.getLogger("liveshop.live")

Emit = Callable[[str, Any, str], Awaitable[None]]
Snapshot = Callable[[str], Awaitable[dict[str, Any]]]


async def no_clock(broadcast_id: str) -> MediaMoment | None:
    return None


class Feed:
    def __init__(
        self,
        inventory: Inventory,
        sessionmaker: async_sessionmaker[AsyncSession],
        emit: Emit,
        snapshot: Callable[[], Snapshot | None],
        *,
        interval_s: float,
    ) -> None:
        self.inventory = inventory
        self.media_clock: MediaClock = no_clock  # the MEDIA_CLOCK seam, set by the room
        self._db = sessionmaker
        self._emit = emit
        self._snapshot = snapshot
        self.interval_s = interval_s
        self.views: dict[str, dict[str, Any]] = {}
        self.ended: set[str] = set()
        self._scheduled: set[str] = set()
        self._last_emit: dict[str, float] = {}
        self._last_counters: dict[str, tuple[int, int, int]] = {}
        self._settle: dict[str, asyncio.TimerHandle] = {}
        self.stats = {"stock_changes": 0, "stock_emits": 0}
        self._coupon_due: dict[str, tuple[dict[str, Any], str]] = {}  # coupon id -> (latest "used", room)
        self._coupon_sent: dict[str, float] = {}

    # commerce events ---------------------------------------------------------------------------
    async def on_offer_started(self, event: Event) -> None:
        view = event.data["offer"]
        self.views[view["id"]] = view
        if event.is_local:
            # the video's moment: viewers behind the live edge hold the banner until they see it
            view = {**view, **(await self.moment(event.data["broadcast_id"]))}
            self.views[view["id"]] = view
            await self._emit("offer", view, event.data["broadcast_id"])

    def on_offer_stock(self, event: Event) -> None:
        view = event.data["offer"]
        if view["id"] not in self.ended:
            self.views[view["id"]] = view

    async def on_offer_ended(self, event: Event) -> None:
        view = event.data["offer"]
        self.ended.add(view["id"])
        self.views[view["id"]] = view
        handle = self._settle.pop(view["id"], None)
        if handle is not None:
            handle.cancel()
        if event.is_local:
            await self._emit("offer", view, event.data["broadcast_id"])

    async def on_pinned(self, event: Event) -> None:
        if event.is_local:
            product = event.data.get("product")
            data = {
                "broadcast_id": event.data["broadcast_id"],
                "product": product,  # v1: the most recent pin
                "pins": event.data.get("pins", [product] if product else []),
                "change": event.data.get("change"),
                **(await self.moment(event.data["broadcast_id"])),
            }
            await self._emit("pinned", data, event.data["broadcast_id"])

    async def on_coupon(self, event: Event) -> None:
        """Announcements and ends go out at once; "used" (uses left after a redemption) is coalesced per
        coupon like stock: at most one per interval, always the latest."""
        if not event.is_local:
            return
        data = {"type": event.data["type"], "coupon": event.data["coupon"]}
        broadcast_id = event.data["broadcast_id"]
        if data["type"] != "used":
            await self._emit("coupon", data, broadcast_id)
            return
        coupon_id = str(data["coupon"].get("id"))
        waiting = coupon_id in self._coupon_due
        self._coupon_due[coupon_id] = (data, broadcast_id)
        if not waiting:
            delay = max(0.0, self._coupon_sent.get(coupon_id, 0.0) + self.interval_s - time.monotonic())
            asyncio.get_running_loop().call_later(delay, self._fire_coupon, coupon_id)

    def _fire_coupon(self, coupon_id: str) -> None:
        due = self._coupon_due.pop(coupon_id, None)
        if due is not None:
            self._coupon_sent[coupon_id] = time.monotonic()
            spawn(self._send_coupon(*due))

    async def _send_coupon(self, data: dict[str, Any], broadcast_id: str) -> None:
        await self._emit("coupon", data, broadcast_id)

    async def moment(self, broadcast_id: str) -> dict[str, float | int]:
        """media_at_s / media_ms / media_pts of the video now, or nothing when it is not published."""
        found = await self.media_clock(broadcast_id)
        return found.stamp() if found is not None else {}

    def remember(self, offers: list[dict[str, Any]]) -> None:
        """Offer views seen in a snapshot: the base for later stock updates."""
        for view in offers:
            if view.get("status") == "ended":
                self.ended.add(view["id"])
            self.views.setdefault(view["id"], view)

    # stock coalescing --------------------------------------------------------------------------
    def on_stock_change(self, offer_id: str, counters: Counters, restock: bool) -> None:
        self.stats["stock_changes"] += 1
        if offer_id in self.ended or offer_id in self._scheduled:
            return
        self._scheduled.add(offer_id)
        delay = max(0.0, self._last_emit.get(offer_id, 0.0) + self.interval_s - time.monotonic())
        asyncio.get_running_loop().call_later(delay, self._fire, offer_id, False)

    def _fire(self, offer_id: str, settle: bool) -> None:
        if settle:
            self._settle.pop(offer_id, None)
        else:
            self._scheduled.discard(offer_id)
        spawn(self._push(offer_id, settle))

    async def _push(self, offer_id: str, settle: bool) -> None:
        try:
            state = await self.inventory.state(offer_id)
            if state is None or state.get("status") != "active" or offer_id in self.ended:
                return
            counters = (int(state["available"]), int(state["held"]), int(state["sold"]))
            if settle and self._last_counters.get(offer_id) == counters:
                return
            view = self.views.get(offer_id) or await self._load_view(offer_id)
            if view is None or offer_id in self.ended:
                return
            view = {**view, "available": counters[0], "held": counters[1], "sold": counters[2]}
            self.views[offer_id] = view
            self._last_emit[offer_id] = time.monotonic()
            self._last_counters[offer_id] = counters
            self.stats["stock_emits"] += 1
            await self._emit("offer", view, view["broadcast_id"])
            if not settle:
                old = self._settle.pop(offer_id, None)
                if old is not None:
                    old.cancel()
                self._settle[offer_id] = asyncio.get_running_loop().call_later(
                    self.interval_s * 3, self._fire, offer_id, True
                )
        except Exception as exc:
            log.warning("offer stock update failed offer=%s error=%r", offer_id, exc)

    async def _load_view(self, offer_id: str) -> dict[str, Any] | None:
        """An offer this node never saw (e.g. its sweeper expired a hold): read it via the snapshot."""
        snapshot = self._snapshot()
        if snapshot is None:
            return None
        async with self._db() as session:
            broadcast_id = (
                await session.execute(select(Offer.broadcast_id).where(Offer.id == offer_id))
            ).scalar_one_or_none()
        if broadcast_id is None:
            return None
        self.remember((await snapshot(broadcast_id)).get("offers", []))
        return self.views.get(offer_id)
