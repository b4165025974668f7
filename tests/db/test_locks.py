"""Serialized transactions (server/db/locks.py): callers with one key run one after another, on
PostgreSQL across nodes (advisory locks) and on SQLite in one process; other keys never wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from server.api.context import DB
from server.db import locks
from server.db.locks import lock_id, serialized


async def _until(check, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "never got there"
        await asyncio.sleep(0.01)


def test_a_lock_id_is_a_stable_signed_64_bit_number_per_key() -> None:
    ids = {lock_id(f"sell:of_1.{i}") for i in range(1000)}
    assert len(ids) == 1000
    assert all(-(2**63) <= i < 2**63 for i in ids)
    assert lock_id("sell:of_1.a") == lock_id("sell:of_1.a")


async def _waiting_on_advisory(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        )
        return int((await session.execute(query)).scalar_one())


async def test_on_postgres_a_twin_waits_for_the_first_to_commit(
    node: tuple[web.Application, TestServer],
) -> None:
    db = node[0][DB]
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with serialized(db, "twins") as session:
            await session.execute(text("SELECT 1"))
            order.append("first in")
            await release.wait()
            order.append("first out")

    async def twin() -> None:
        async with serialized(db, "twins"):
            order.append("twin in")

    async def stranger() -> None:
        async with serialized(db, "someone else"):
            order.append("stranger in")

    one = asyncio.ensure_future(first())
    await _until(lambda: asyncio.sleep(0, result=order == ["first in"]))
    two = asyncio.ensure_future(twin())
    await _until(lambda: _waiting_on_advisory(db))  # parked behind the first's lock
    await stranger()  # another key goes straight through
    release.set()
    await asyncio.gather(one, two)
    assert order == ["first in", "stranger in", "first out", "twin in"]


async def test_a_rolled_back_holder_frees_its_key(node: tuple[web.Application, TestServer]) -> None:
    db = node[0][DB]
    with pytest.raises(RuntimeError):
        async with serialized(db, "rollback"):
            raise RuntimeError("the write failed")
    async with serialized(db, "rollback") as session:
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


@pytest.fixture
async def sqlite_db() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    yield async_sessionmaker(engine)
    await engine.dispose()


async def test_on_sqlite_twins_queue_in_process_and_the_lock_is_forgotten_after(
    sqlite_db: async_sessionmaker[AsyncSession],
) -> None:
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with serialized(sqlite_db, "k"):
            order.append("first in")
            await release.wait()
            order.append("first out")

    async def twin() -> None:
        async with serialized(sqlite_db, "k"):
            order.append("twin in")

    one = asyncio.ensure_future(first())
    await _until(lambda: asyncio.sleep(0, result=order == ["first in"]))
    two = asyncio.ensure_future(twin())
    await _until(lambda: asyncio.sleep(0, result=locks._local._locks.get("k", (None, 0))[1] == 2))
    assert order == ["first in"]
    release.set()
    await asyncio.gather(one, two)
    assert order == ["first in", "first out", "twin in"]
    assert "k" not in locks._local._locks
