"""Viewer counts across processes: each node writes its own share per room; every node sums them.

Once per interval a node writes "viewers|chat rate|expiry" into the room's hash under its node id,
reads the hash back in the same round trip, and pushes `viewers` to its own local viewers only (never
through the channel), at most once per interval and only when the figures changed. A node that dies
stops refreshing its share, which then expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from server.clock import SYSTEM_CLOCK, Clock, now_ms
from server.live import keys
from server.tasks import stop_task

log = logging.getLogger("liveshop.live")

SHARE_TTL_MS = 5_000

LocalEmit = Callable[[str, Any, str], Awaitable[None]]


class Viewers:
    def __init__(
        self,
        redis: Redis,
        node_id: str,
        emit_local: LocalEmit,
        take_delivered: Callable[[str], int],
        *,
        interval_s: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.redis = redis
        self.clock = clock  # shares carry their expiry in its time
        self.node = node_id
        self._emit_local = emit_local
        self._take_delivered = take_delivered
        self.interval_s = interval_s
        self.local: dict[str, int] = {}
        self.totals: dict[str, tuple[int, float]] = {}
        self._sent: dict[str, tuple[int, float]] = {}
        self._task: asyncio.Task[None] | None = None
        self.healthy = True

    def joined(self, broadcast_id: str) -> None:
        self.local[broadcast_id] = self.local.get(broadcast_id, 0) + 1

    def left(self, broadcast_id: str) -> None:
        n = self.local.get(broadcast_id, 0) - 1
        self.local[broadcast_id] = max(n, 0)

    async def count(self, broadcast_id: str) -> int:
        """The room's viewers on every node (this node's share is always current)."""
        if broadcast_id in self.totals:
            return self._with_fresh_local(broadcast_id)
        try:
            shares = await self.redis.hgetall(keys.viewers(broadcast_id))
        except Exception:
            return self.local.get(broadcast_id, 0)
        viewers, _ = _sum(shares, self.node, self.local.get(broadcast_id, 0), now_ms(self.clock))
        return viewers

    def _with_fresh_local(self, broadcast_id: str) -> int:
        return self.totals[broadcast_id][0]

    def stats(self, broadcast_id: str) -> dict[str, Any]:
        viewers, rate = self.totals.get(broadcast_id, (self.local.get(broadcast_id, 0), 0.0))
        return {"broadcast_id": broadcast_id, "viewers": viewers, "chat_rate": rate}

    async def tick(self) -> None:
        rooms = [b for b in set(self.local) | set(self.totals)]
        if not rooms:
            return
        now = now_ms(self.clock)
        rates = {b: self._take_delivered(b) / self.interval_s for b in rooms}
        async with self.redis.pipeline(transaction=False) as pipe:
            for b in rooms:
                key = keys.viewers(b)
                mine = self.local.get(b, 0)
                if mine or rates[b]:
                    pipe.hset(key, self.node, f"{mine}|{rates[b]:.2f}|{now + SHARE_TTL_MS}")
                    pipe.pexpire(key, SHARE_TTL_MS * 4)
                else:
                    pipe.hdel(key, self.node)
                pipe.hgetall(key)
            results = await pipe.execute()
        self.healthy = True
        shares_of = [r for r in results if isinstance(r, dict)]
        for b, shares in zip(rooms, shares_of, strict=True):
            total = _sum(shares, self.node, self.local.get(b, 0), now)
            self.totals[b] = total
            if self.local.get(b, 0) == 0:
                # nobody here to tell; stop tracking once our share is gone
                self.local.pop(b, None)
                self.totals.pop(b, None)
                self._sent.pop(b, None)
                continue
            if _worth_telling(self._sent.get(b), total):
                self._sent[b] = total
                await self._emit_local("viewers", self.stats(b), b)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.healthy = False
                log.debug("viewer count tick failed error=%r", exc)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        await stop_task(self._task, within=2, what="viewer counts")
        with contextlib.suppress(Exception):
            async with self.redis.pipeline(transaction=False) as pipe:
                for b in self.local:
                    pipe.hdel(keys.viewers(b), self.node)
                await pipe.execute()


def _sum(shares: dict[Any, Any], node: str, mine: int, now: int) -> tuple[int, float]:
    """(viewers, chat rate) over every node's live share at `now` (ms); this node counts `mine`."""
    viewers, rate = mine, 0.0
    for k, v in shares.items():
        name = k.decode() if isinstance(k, bytes) else str(k)
        try:
            n, r, exp = (v.decode() if isinstance(v, bytes) else str(v)).split("|")
            if name == node:
                rate += float(r)
                continue
            if int(exp) >= now:
                viewers += int(n)
                rate += float(r)
        except ValueError:
            continue
    return viewers, round(rate, 1)


def _worth_telling(before: tuple[int, float] | None, now: tuple[int, float]) -> bool:
    """A changed viewer count always; a chat rate only when it moved by 10% (it wobbles every second)."""
    if before is None or before[0] != now[0]:
        return True
    return abs(now[1] - before[1]) > max(1.0, 0.1 * before[1])
