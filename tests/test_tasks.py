"""Background work stops in bounded time even when a cancel is lost (server/tasks.py)."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from server.tasks import bounded, repeating, stop_task


async def test_a_task_that_swallows_a_cancel_is_cancelled_again_until_it_ends() -> None:
    swallowed = []

    async def loop_that_loses_one_cancel() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if not swallowed:  # as a driver that turns CancelledError into its own error would
                    swallowed.append(True)
                    continue
                raise

    task = asyncio.create_task(loop_that_loses_one_cancel())
    await asyncio.sleep(0)  # let it start
    assert await stop_task(task, within=5)
    assert task.cancelled() and swallowed == [True]


async def test_a_task_that_never_stops_is_given_up_at_the_deadline() -> None:
    release = asyncio.Event()

    async def immortal() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(immortal())
    await asyncio.sleep(0)
    assert await stop_task(task, within=0.3) is False
    assert not task.done()
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=2)


async def test_a_step_that_hangs_is_bounded_and_a_failing_one_is_reported() -> None:
    assert await bounded(asyncio.sleep(0), within=1) is True
    assert await bounded(asyncio.Event().wait(), within=0.2) is False

    async def fails() -> None:
        raise RuntimeError("boom")

    assert await bounded(fails(), within=1) is False


async def test_a_periodic_pass_that_fails_is_retried_and_the_loop_stops_at_shutdown() -> None:
    passes: list[int] = []
    third = asyncio.Event()

    async def step(_app: web.Application) -> None:
        passes.append(len(passes))
        if len(passes) == 3:
            third.set()
        if len(passes) == 1:
            raise RuntimeError("the database is away")

    context = repeating(step, 0.01, what="test pass")(web.Application())
    await anext(context)
    await asyncio.wait_for(third.wait(), 5)  # the failure did not end the loop
    with contextlib.suppress(StopAsyncIteration):
        await anext(context)
    stopped_at = len(passes)
    await asyncio.sleep(0.05)
    assert len(passes) == stopped_at  # no pass after shutdown
