"""The Python face of the giveaway scripts: one atomic step per entry, and the rebuild.

Redis answers "in already?" and numbers each new entrant in one step (giveaway_enter.lua); commerce
writes the entry's row to PostgreSQL before it answers, and PostgreSQL's rows are the entrant list the
draw uses. When Redis lost the state, or another Redis process wrote it (a failover), the book
rebuilds it from the loader's answer (PostgreSQL's rows) and tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.errors import NotFound
from server.inventory.engine import UNTRUSTED
from server.inventory.keys import giveaway_keys
from server.inventory.scripts import Scripts

log = logging.getLogger("liveshop.inventory")

# loader(giveaway_id) -> giveaway_load.lua's ARGV from PostgreSQL, or None (no such giveaway)
EntryLoader = Callable[[str], Awaitable[list[Any] | None]]


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry's outcome. `code`: ok (new), replay (this person was in already) or closed."""

    code: str
    seq: int = 0


class EntryBook:
    """Atomic entries over per-giveaway Redis keys (`giveaway:{<id>}:...`, one cluster slot each)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.scripts = Scripts(redis)
        self._loader: EntryLoader | None = None
        self.stats = {"entries": 0, "rebuilds": 0}

    def set_loader(self, loader: EntryLoader) -> None:
        self._loader = loader

    async def load(self, giveaway_id: str, args: list[Any]) -> bool:
        """Write the state unless this Redis process holds it already. True if this call wrote it."""
        result = await self.scripts.giveaway_load(keys=giveaway_keys(giveaway_id), args=args)
        return _s(result[0]) == "created"

    async def rebuild(self, giveaway_id: str) -> None:
        args = await self._loader(giveaway_id) if self._loader is not None else None
        if args is None:
            raise NotFound("giveaway")
        await self.load(giveaway_id, args)
        self.stats["rebuilds"] += 1
        log.warning("rebuilt giveaway entries from the database giveaway=%s", giveaway_id)

    async def enter(self, giveaway_id: str, user_id: str) -> Entry:
        self.stats["entries"] += 1
        keys = giveaway_keys(giveaway_id)
        r = await self.scripts.giveaway_enter(keys=keys, args=[user_id])
        if _s(r[0]) in UNTRUSTED:
            await self.rebuild(giveaway_id)
            r = await self.scripts.giveaway_enter(keys=keys, args=[user_id])
            if _s(r[0]) in UNTRUSTED:  # the primary changed again while rebuilding
                raise RedisConnectionError("Redis primary changed during a rebuild; retry")
        code = _s(r[0])
        return Entry(code, int(r[1]) if len(r) > 1 else 0)

    async def close(self, giveaway_id: str) -> None:
        """From here every new entry is refused (PostgreSQL, which commerce asks too, has the last word)."""
        await self.redis.hset(giveaway_keys(giveaway_id)[0], "status", "closed")

    async def count(self, giveaway_id: str) -> int:
        return int(await self.redis.hlen(giveaway_keys(giveaway_id)[1]))  # type: ignore[misc]

    async def drop(self, giveaway_id: str) -> None:
        """After the draw nobody enters again; the rows in PostgreSQL are the record."""
        await self.redis.delete(*giveaway_keys(giveaway_id))


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
