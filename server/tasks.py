"""Stopping background work in bounded time: a node must always close in seconds.

A cancellation can be lost: a library that turns CancelledError into its own error (a database driver
interrupted mid-query), or Python 3.11's asyncio.wait_for / asyncio.timeout racing their own timeout,
and a loop that catches Exception then goes round again. Awaiting such a task after one cancel() waits
forever, which is how a node's shutdown used to hang. So: cancel again until the task ends, and give up
(loudly) at a deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger("liveshop.tasks")

RECANCEL_S = 0.1  # how long one cancel() is given before it is repeated
HOURLY_S = 3600.0  # retention passes


async def stop_task(task: asyncio.Task[Any] | None, *, within: float = 5.0, what: str = "") -> bool:
    """Cancel `task` (again and again) until it ends; False if it still runs after `within` seconds."""
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            log.warning("background task did not stop task=%s", what or task.get_name())
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_S, left))
    if not task.cancelled() and task.exception() is not None:
        log.warning("background task failed task=%s error=%r", what or task.get_name(), task.exception())
    return True


async def bounded(step: Awaitable[Any], *, within: float = 5.0, what: str = "") -> bool:
    """Run one shutdown step for at most `within` seconds; a step still running then is stopped."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        log.warning("shutdown step timed out step=%s", what or task.get_name())
        await stop_task(task, within=1.0, what=what)
        return False
    if not task.cancelled() and task.exception() is not None:
        log.warning("shutdown step failed step=%s error=%r", what, task.exception())
        return False
    return True


def repeating(
    step: Callable[[web.Application], Awaitable[Any]], interval_s: float, *, what: str
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that runs `step(app)` now and every `interval_s` after: a failing pass is
    logged and the next one retries (a database away for a while must not end the loop for good),
    and shutdown stops it with `stop_task`, in bounded time."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                try:
                    await step(app)
                except Exception as exc:
                    log.warning("periodic pass failed task=%s error=%r", what, exc)
                await asyncio.sleep(interval_s)

        task = asyncio.create_task(loop(), name=what)
        yield
        await stop_task(task, what=what)

    return context
