"""The backing services one way for every entry point (server/services.py), and fire-and-forget tasks
that are never lost to the garbage collector (server/live/spawn.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from sqlalchemy import text

from server.clock import ShiftedClock
from server.config import Settings
from server.live import spawn as spawn_module
from server.live.spawn import spawn
from server.services import Services, open_services


async def test_the_services_share_one_clock_and_open_migrated(settings: Settings) -> None:
    clock = ShiftedClock()
    made = Services.create(settings, clock=clock)
    try:
        assert made.inventory.clock is clock and made.inventory.redis is made.redis
    finally:
        await made.close()
    async with open_services(settings) as services:
        async with services.db() as session:
            tables = await session.execute(text("SELECT count(*) FROM orders"))
            assert tables.scalar_one() >= 0  # migrated: the schema is there
        assert await services.redis.ping()


async def test_a_spawned_task_is_held_until_it_finishes() -> None:
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "done"

    ref = weakref.ref(spawn(work()))  # the caller keeps no reference
    gc.collect()
    task = ref()
    assert task is not None and task in spawn_module._tasks and not task.done()
    release.set()
    assert await task == "done"
    await asyncio.sleep(0)  # done callbacks run on the next loop pass
    assert task not in spawn_module._tasks
