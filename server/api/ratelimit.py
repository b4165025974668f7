"""Rate limits shared by every node (the `limits` library over the node's Redis; in memory when embedded)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from aiohttp import web
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import Redis

from server.errors import Code, DomainError

KEY_PREFIX = "liveshop:limits"


def make_storage(redis: Redis, embedded: bool) -> Storage:
    """The node's Redis (its connection pool, so limits fail over with it), or memory when embedded."""
    pool = getattr(redis, "connection_pool", None)
    if embedded or pool is None:
        return MemoryStorage()
    return RedisStorage(
        "async+redis://", implementation="redispy", connection_pool=pool, key_prefix=KEY_PREFIX
    )


def limit(text: str) -> RateLimitItem:
    """`"10/15 minutes"`, `"5 per second"`: the library's own notation (validated at start)."""
    return parse(text)


class Limiter:
    """Sliding-window counters: `check` refuses when a window is full, `hit` counts one more."""

    def __init__(self, storage: Storage, clock: Callable[[], float] = time.time) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._clock = clock

    async def retry_after(self, item: RateLimitItem, *ids: str) -> int:
        """0 when one more is allowed, else the whole seconds to wait."""
        if await self._limiter.test(item, *ids):
            return 0
        stats = await self._limiter.get_window_stats(item, *ids)
        return max(1, math.ceil(stats.reset_time - self._clock()))

    async def hit(self, item: RateLimitItem, *ids: str) -> bool:
        """Count one; False when the window was already full."""
        return await self._limiter.hit(item, *ids)

    async def clear(self, item: RateLimitItem, *ids: str) -> None:
        await self._limiter.clear(item, *ids)


LIMITER = web.AppKey("limiter", Limiter)


def too_many(code: Code, detail: str, retry_after: int) -> DomainError:
    """A 429 problem with Retry-After (and the same figure in the body for socket.io-style clients)."""
    error = DomainError(code, detail, retry_after_s=retry_after)
    error.headers["Retry-After"] = str(retry_after)
    return error
