"""Transactions that callers with the same key run one after another, so a retry waits for its twin."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def lock_id(key: str) -> int:
    """PostgreSQL advisory locks take a signed 64-bit number."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class _LocalLocks:
    """One asyncio.Lock per key while anyone holds or waits for it (SQLite has no advisory locks)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_local = _LocalLocks()


@asynccontextmanager
async def serialized(db: async_sessionmaker[AsyncSession], key: str) -> AsyncIterator[AsyncSession]:
    """A transaction that begins only once every earlier one with this key has committed or rolled back.

    PostgreSQL: a transaction-scoped advisory lock, so twins on every node queue (and a crash frees it).
    SQLite, the embedded single-process default: an in-process lock held until after the commit."""
    async with db() as session:
        if session.get_bind().dialect.name == "postgresql":
            async with session.begin():
                await session.execute(select(func.pg_advisory_xact_lock(lock_id(key))))
                yield session
        else:
            async with _local.hold(key), session.begin():
                yield session
