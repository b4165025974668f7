"""Mirroring to the social platforms' commerce APIs: outbox delivery, connectors, inbound orders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from server.api.context import SETTINGS
from server.config import MirrorSettings
from server.mirror.state import MIRROR, MirrorState
from server.tasks import bounded, stop_task

log = logging.getLogger("liveshop.mirror")
STATUS_REFRESH_S = 5.0


def setup(app: web.Application, *, worker: bool = True) -> None:
    """Webhook routes and the console API; with `worker`, the delivery worker runs in this process.

    The configuration is read now (tests may replace `app[MIRROR].config` before the app starts)."""
    from server.api.context import DB, EVENTS
    from server.api.metrics import METRICS
    from server.mirror import api, webhooks
    from server.mirror.hooks import api as hooks_api
    from server.mirror.hooks.sold_out import watch_sold_out

    state = MirrorState(app[SETTINGS].mirror)
    app[MIRROR] = state
    webhooks.router.install(app)
    api.router.install(app)
    hooks_api.router.install(app)
    sold_out_writes = watch_sold_out(app[EVENTS], app[DB])
    if METRICS in app:
        app[METRICS].registry.register(state.collector)  # type: ignore[arg-type]

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        from server.api.context import INVENTORY
        from server.mirror.connectors import build_connectors
        from server.mirror.worker import Worker

        # One connector set per process: webhooks and the worker share it, and with it each
        # platform's throttle gate (a 429 seen by either pauses both).
        state.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        state.connectors = build_connectors(state.config, state.http)
        refresher = asyncio.create_task(_refresh_status(app))
        if worker:
            registry = app[METRICS].registry if METRICS in app else None
            state.worker = Worker(
                app[DB], app[INVENTORY], state.config, registry=registry, connectors=state.connectors
            )
            await state.worker.start()
        yield
        await stop_task(refresher, what="mirror status")
        if state.worker is not None:
            await bounded(state.worker.stop(), within=12, what="mirror worker")
        if sold_out_writes:
            await asyncio.wait(set(sold_out_writes), timeout=5)
        await bounded(state.http.close(), what="mirror http")

    app.cleanup_ctx.append(lifecycle)


async def _refresh_status(app: web.Application) -> None:
    from server.api.context import DB
    from server.mirror.status import mirror_status

    state = app[MIRROR]
    while True:
        try:
            async with app[DB]() as session:
                state.collector.report = await mirror_status(session, state.config.enabled())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("mirror status refresh failed error=%r", exc)
        await asyncio.sleep(STATUS_REFRESH_S)


async def run_worker(config: MirrorSettings, db: Any, inventory: Any, stop: asyncio.Event) -> None:
    """`liveshop worker`: the delivery worker alone (run as many as you like), until `stop` is set."""
    from server.mirror.worker import Worker

    if not config.enabled():
        log.warning("no platform has credentials: the mirror worker has nothing to deliver")
    worker = Worker(db, inventory, config)
    await worker.start()
    await stop.wait()
    await worker.stop()
