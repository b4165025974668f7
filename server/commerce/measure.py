"""The sale's counters that exist nowhere else: who reserved, how many holds were made and given back, and
when each offer sold out. Orders are counted from their table; holds that expired from the inventory's
own `expired_holds` counter; the audience by live (the AudienceFigures seam).

Every key of a broadcast carries the hash tag `{<broadcast id>}` (one cluster slot); this module is the
keys' one home:

    sale:{<b>}:reservers  HyperLogLog  buyers who got a hold
    sale:{<b>}:reservers:<source>  HyperLogLog  those who came from one source (the reservation's
                                   Liveshop-Attribution; at most one key per hold, so bounded by stock)
    sale:{<b>}:sources    set          the sources seen among them
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


def source_reservers_key(broadcast_id: str, source: str) -> str:
    return _tag(broadcast_id) + ":reservers:" + source


def sources_key(broadcast_id: str) -> str:
    return _tag(broadcast_id) + ":sources"


def counts_key(broadcast_id: str) -> str:
    return _tag(broadcast_id) + ":counts"


def sold_out_key(broadcast_id: str) -> str:
    return _tag(broadcast_id) + ":soldout"


class SaleMeasure:
    def __init__(self, redis: Redis, clock: Clock) -> None:
        self.redis = redis
        self.clock = clock
        self._sold_out: dict[str, None] = {}

    async def reserved(self, broadcast_id: str, buyer_id: str, source: str | None = None) -> None:
        """A claim got its hold (one pipelined round trip; the keys get their lifetime when first
        written). `source`: where the buyer came from, when the request said. Never raises: the hold
        stands regardless."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.pfadd(reservers_key(broadcast_id), buyer_id)
                pipe.hincrby(counts_key(broadcast_id), "holds", 1)
                if source:
                    pipe.pfadd(source_reservers_key(broadcast_id, source), buyer_id)
                    pipe.sadd(sources_key(broadcast_id), source)
                done = await pipe.execute()
            fresh = [reservers_key(broadcast_id), counts_key(broadcast_id)] if done[1] == 1 else []
            if source and done[3] == 1:
                fresh += [source_reservers_key(broadcast_id, source), sources_key(broadcast_id)]
            if fresh:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for key in fresh:
                        pipe.expire(key, TTL_S)
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
            pipe.smembers(sources_key(broadcast_id))
            reservers, counts, sold_out, source_names = await pipe.execute()
        sources = sorted(_s(s) for s in source_names)
        by_source: list[int] = []
        if sources:
            async with self.redis.pipeline(transaction=False) as pipe:
                for source in sources:
                    pipe.pfcount(source_reservers_key(broadcast_id, source))
                by_source = await pipe.execute()
        counted = {_s(k): int(_s(v)) for k, v in counts.items()}
        return {
            "reservers": int(reservers),
            "reservers_by_source": dict(zip(sources, (int(n) for n in by_source), strict=True)),
            "holds": counted.get("holds", 0),
            "released": counted.get("released", 0),
            "sold_out_ms": {_s(k): int(_s(v)) for k, v in sold_out.items()},
        }


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


SALE_MEASURE = web.AppKey("sale_measure", SaleMeasure)
