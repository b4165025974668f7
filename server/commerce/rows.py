"""Node-local copies of the rows a rush reads: offers on the claim path, auctions on the bid path,
giveaways on the entry path, each with the owner its routes check. PostgreSQL stays the truth: a row
another node changed is dropped (on its relayed event) or read again on demand, and past `limit` rows
the least recently used go, so a node that runs for months of broadcasts does not grow without end."""

from __future__ import annotations

from typing import Generic, TypeVar

from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROWS_PER_NODE = 20_000  # of each kind; a few KiB each, far above the rows one sale keeps busy

Meta = TypeVar("Meta")


class RowCache(Generic[Meta]):
    """A feature's cache: it says how to `read` one row (raising NotFound) and keeps what it wrote."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = ROWS_PER_NODE) -> None:
        self._db = sessionmaker
        self._items: LRUCache[str, Meta] = LRUCache(maxsize=limit)

    async def read(self, session: AsyncSession, key: str) -> Meta:
        """The row and its owner, from PostgreSQL."""
        raise NotImplementedError

    async def get(self, key: str, *, fresh: bool = False) -> Meta:
        """The cached row, or PostgreSQL's (always PostgreSQL's with `fresh`)."""
        meta = None if fresh else self._items.get(key)
        if meta is None:
            async with self._db() as session:
                meta = await self.read(session, key)
            self._items[key] = meta
        return meta

    def peek(self, key: str) -> Meta | None:
        """The cached row if there is one; never reads PostgreSQL."""
        return self._items.get(key)

    def keep(self, key: str, meta: Meta) -> Meta:
        self._items[key] = meta
        return meta

    def drop(self, key: str) -> None:
        self._items.pop(key, None)
