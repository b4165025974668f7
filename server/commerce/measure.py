"""The sale's counters that exist nowhere else: who reserved, how many holds were made and given back, and
when each offer sold out. Orders are counted from their table; holds that expired from the inventory's
own `expired_holds` counter; the audience by live (the AudienceFigures seam).

Every key of a broadcast carries the hash tag `{<broadcast id>}` (one cluster slot); this module is the
keys' one home:

    sale:{<b>}:reservers  HyperLogLog  buyers who got a hold
    sale:{<b>}:counts     hash         holds (made), released (given back by their buyer)
    sale:{<b>}:soldout    hash         offer id -> epoch ms of the first moment it had no unit to claim
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from server.clock import Clock, now_ms
from server.events import OFFER_STOCK, Event, EventBus

log = logging.getLogger("liveshop.commerce")
TTL_S = 30 * 86400  # long after any show: the report is folded into PostgreSQL when it ends
REMEMBER = 50_000  # offers this node saw sell out; more and it forgets the oldest (HSETNX keeps the first)


def _tag(broadcast_id: str) -> str:
    return "sale:{" + broadcast_id + "}"


def reservers_key(broadcast_id: str) -> str:
    return _tag(broadcast_id) + ":reservers"


def counts_key(broadcast_id: str) -> str:
    return _tag(broadcast_id) + ":counts"


def sold_out_key(broadcast_id: str) -> str:
    return _tag(broadcast_id) + ":soldout"


class SaleMeasure:
    def __init__(self, redis: Redis, clock: Clock) -> None:
        self.redis = redis
        self.clock = clock
        self._sold_out: dict[str, None] = {}

    async def reserved(self, broadcast_id: str, buyer_id: str) -> None:
        """A claim got its hold (one pipelined round trip of two commands; the keys get their lifetime
        with the broadcast's first hold). Never raises: the hold stands regardless."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.pfadd(reservers_key(broadcast_id), buyer_id)
                pipe.hincrby(counts_key(broadcast_id), "holds", 1)
                _, holds = await pipe.execute()
            if holds == 1:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.expire(reservers_key(broadcast_id), TTL_S)
                    pipe.expire(counts_key(broadcast_id), TTL_S)
                    await pipe.execute()
        except Exception as exc:
            log.warning("reservation not counted broadcast=%s error=%r", broadcast_id, exc)

    async def released(self, broadcast_id: str) -> None:
        try:
            await self.redis.hincrby(counts_key(broadcast_id), "released", 1)
        except Exception as exc:
            log.warning("release not counted broadcast=%s error=%r", broadcast_id, exc)

    def watch(self, events: EventBus) -> None:
        """Stock events (in-process, on the node that changed the stock): the first that shows an active
        offer with nothing left to claim is its sell-out moment."""

        async def on_stock(event: Event) -> None:
            offer = event.data.get("offer") or {}
            broadcast_id = event.data.get("broadcast_id")
            offer_id = offer.get("id")
            if offer.get("available") != 0 or offer.get("status") != "active":
                return
            # an offer being ended reads available 0 too, with its unsold units gone back to the shelf
            if int(offer.get("held", 0)) + int(offer.get("sold", 0)) < int(offer.get("quantity", 1)):
                return
            if not isinstance(broadcast_id, str) or not isinstance(offer_id, str):
                return
            if offer_id in self._sold_out:
                return
            self._sold_out[offer_id] = None
            if len(self._sold_out) > REMEMBER:
                self._sold_out.pop(next(iter(self._sold_out)))
            try:
                key = sold_out_key(broadcast_id)
                await self.redis.hsetnx(key, offer_id, now_ms(self.clock))
                await self.redis.expire(key, TTL_S)
            except Exception as exc:
                self._sold_out.pop(offer_id, None)  # the next stock event of this offer tries again
                log.warning("sell-out not recorded offer=%s error=%r", offer_id, exc)

        events.subscribe(OFFER_STOCK, on_stock)

    async def figures(self, broadcast_id: str) -> dict[str, Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.pfcount(reservers_key(broadcast_id))
            pipe.hgetall(counts_key(broadcast_id))
            pipe.hgetall(sold_out_key(broadcast_id))
            reservers, counts, sold_out = await pipe.execute()
        counted = {_s(k): int(_s(v)) for k, v in counts.items()}
        return {
            "reservers": int(reservers),
            "holds": counted.get("holds", 0),
            "released": counted.get("released", 0),
            "sold_out_ms": {_s(k): int(_s(v)) for k, v in sold_out.items()},
        }


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


SALE_MEASURE = web.AppKey("sale_measure", SaleMeasure)
