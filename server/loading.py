"""Reading once for a crowd: a chat flood asks the same question (which offer a buy word claims, which
giveaway a keyword enters, what the room's policy is) thousands of times a second. A miss is read once,
and every caller that arrives meanwhile awaits that one read; briefly kept answers serve the rest."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BRIEF_KEYS = 10_000  # keys a node keeps a brief answer for (the oldest go first)


class SingleFlight(Generic[K, V]):
    """Concurrent loads of one key share one call: the first caller runs it, the others await its
    answer, or its error."""

    def __init__(self) -> None:
        self._pending: dict[K, asyncio.Future[V]] = {}

    def __contains__(self, key: K) -> bool:
        return key in self._pending

    async def run(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await load()
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._pending.pop(key, None)


class BriefCache(Generic[V]):
    """Answers per key (a broadcast, an account) kept `ttl_s` by `timer` (the node clock's monotonic),
    each miss read once (`load` says how). A change on this node `forget`s its answer at once; one made
    on another node ages out."""

    def __init__(
        self, ttl_s: float, *, timer: Callable[[], float] = time.monotonic, maxsize: int = BRIEF_KEYS
    ) -> None:
        self._items: TTLCache[str, V] = TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer)
        self._flight: SingleFlight[str, V] = SingleFlight()

    async def load(self, key: str) -> V:
        raise NotImplementedError

    async def get(self, key: str) -> V:
        try:
            return self._items[key]
        except KeyError:
            return await self._flight.run(key, lambda: self._load_and_keep(key))

    async def _load_and_keep(self, key: str) -> V:
        value = await self.load(key)
        self._items[key] = value
        return value

    def forget(self, key: str) -> None:
        self._items.pop(key, None)
