"""Domain events: published in-process, optionally relayed to every node, durable ones in the outbox.

Commerce publishes (offer started, stock changed, order confirmed, ...); live turns them into room
messages; mirror reads the outbox; media reports a broadcast going live or dropping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import orjson
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.outbox import OutboxEvent
from server.redis_client import ready
from server.tasks import stop_task

log = logging.getLogger("liveshop.events")

CHANNEL = "liveshop:events"

# Topics. Payloads are plain JSON-able dicts.
OFFER_STARTED = "offer.started"  # {offer: {...}, broadcast_id}
OFFER_STOCK = "offer.stock"  # {offer: {...}, broadcast_id}: available/held/sold changed
OFFER_ENDED = "offer.ended"  # {offer: {...}, broadcast_id}
OFFER_RESTOCKED = "offer.restocked"  # {offer_id}: units came back; nodes drop their sold-out flag
AUCTION = (
    "auction"  # {type: started|bid|extended|ended, auction: {...} as GET shows it, broadcast_id, outbid}
)
# {type: started|entries|closed|drawn|canceled, giveaway: {...} as the room shows it, broadcast_id,
#  winner_id (drawn only: that viewer alone is told), order_id (drawn only)}
GIVEAWAY = "giveaway"
# {broadcast_id, product: the most recent pin | None, pins: [product, ...] newest first, change: {action:
# "pin"|"unpin"|"clear", product_id}}
PINNED = "broadcast.pinned"
COUPON = "coupon"  # {type: announced|ended, coupon: {...} as the host's list shows it, broadcast_id}
BROADCAST_STATUS = "broadcast.status"  # {broadcast: {...}}
MEDIA_STATE = "media.state"  # {broadcast_id, state: "publishing" | "reconnecting" | "stopped"}
ORDER_CONFIRMED = "order.confirmed"  # durable: OrderConfirmed, whichever channel sold it
PERSON_ERASED = "person.erased"  # {user_ids, shop_id}: a buyer asked to be forgotten; each feature scrubs
STOCK_CHANGED = "stock.changed"  # durable: {product_id, sku, stock, available}
# Payments (durable, the order as the API shows it plus sku): created awaiting payment, paid, refunded,
# canceled (payment failed for good or never came), fulfilled (shipped).
ORDER_CREATED = "order.created"
ORDER_PAID = "order.paid"
ORDER_REFUNDED = "order.refunded"
ORDER_CANCELED = "order.canceled"
ORDER_FULFILLED = "order.fulfilled"
OFFER_SOLD_OUT = "offer.sold_out"  # durable: {offer: {...}, broadcast_id}: the last unit was claimed


class OrderLine(TypedDict):
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price: int


class OrderConfirmed(TypedDict):
    """The one payload of ORDER_CONFIRMED, in the outbox and on the bus, for liveshop and platform sales.

    `channel` is "liveshop" for a viewer's checkout, else the platform that sold it (`external_id` is
    then the platform's order line); `offer_id`/`reservation_id`/`broadcast_id` are None for a sale
    from the product's shelf stock."""

    id: str
    status: str
    channel: str
    external_id: str | None
    offer_id: str | None
    reservation_id: str | None
    broadcast_id: str | None
    product_id: str
    sku: str
    quantity: int
    items: list[OrderLine]
    total: int
    currency: str
    buyer: dict[str, Any]
    created_at: str | None


Handler = Callable[["Event"], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    data: dict[str, Any]
    origin: str  # node id that published it
    # Published by the bus that delivers it (False: relayed from another node). Judged per bus, not
    # per process: two nodes in one process (tests, embedded tools) each know their own events.
    is_local: bool = True


MAX_ERASED = 10_000  # people one PERSON_ERASED event scrubs at most


def on_person_erased(scrub: Callable[[list[str]], Awaitable[object]]) -> Handler:
    """A feature's PERSON_ERASED subscriber: it scrubs its own rows of the people the event names, on
    the node that published it only (the rows are in the shared database: once is enough)."""

    async def handle(event: Event) -> None:
        if event.is_local:
            ids = [str(i) for i in event.data.get("user_ids", [])][:MAX_ERASED]
            if ids:
                await scrub(ids)

    return handle


class EventBus:
    """In-process fan-out to subscribers; `relay=True` events also reach the other nodes via Redis."""

    def __init__(self, node_id: str, redis: Redis | None = None) -> None:
        self.node_id = node_id
        self._redis = redis
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self.relay_healthy = redis is None

    def subscribe(self, topic: str, handler: Handler) -> None:
        """`topic` is an exact topic or a prefix ending in '*' (e.g. 'offer.*')."""
        self._handlers[topic].append(handler)

    def _targets(self, topic: str) -> list[Handler]:
        found = list(self._handlers.get(topic, ()))
        for pattern, handlers in self._handlers.items():
            if pattern.endswith("*") and topic.startswith(pattern[:-1]):
                found.extend(handlers)
        return found

    async def _dispatch(self, event: Event) -> None:
        for handler in self._targets(event.topic):
            try:
                result = handler(event)
                if result is not None:
                    await result
            except Exception:
                log.exception("event handler failed topic=%s", event.topic)

    async def publish(self, topic: str, data: Mapping[str, Any], *, relay: bool = False) -> None:
        data = dict(data)
        await self._dispatch(Event(topic, data, self.node_id))
        if relay and self._redis is not None:
            try:
                await self._redis.publish(CHANNEL, orjson.dumps({"t": topic, "d": data, "o": self.node_id}))
            except Exception as exc:  # a relay loss must never fail the change that caused it
                log.warning("event relay failed topic=%s error=%r", topic, exc)

    @staticmethod
    def record(session: AsyncSession, topic: str, key: str, data: Mapping[str, Any]) -> None:
        """Write a durable event in the caller's transaction: it exists iff the change commits."""
        session.add(OutboxEvent(topic=topic, key=key, payload=dict(data)))

    async def start(self) -> None:
        if self._redis is not None and self._task is None:
            self._task = asyncio.create_task(self._listen(), name="events-relay")

    async def stop(self) -> None:
        await stop_task(self._task, within=2, what="events relay")
        self._task = None

    async def _listen(self) -> None:
        assert self._redis is not None
        delay = 0.2
        while True:
            pubsub = None
            try:
                await ready(self._redis)
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(CHANNEL)
                self.relay_healthy = True
                delay = 0.2
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        raw = orjson.loads(message["data"])
                    except orjson.JSONDecodeError:
                        continue
                    if raw.get("o") == self.node_id:
                        continue
                    await self._dispatch(Event(raw["t"], raw["d"], raw["o"], is_local=False))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.relay_healthy = False
                log.warning("event relay subscription lost, retrying error=%r", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
