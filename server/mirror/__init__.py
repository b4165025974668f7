"""Mirroring to the social platforms' commerce APIs: outbox delivery, connectors, inbound orders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from server.mirror.state import MIRROR, MirrorState

log = logging.getLogger("liveshop.mirror")
STATUS_REFRESH_S = 5.0


def setup(app: web.Application, *, worker: bool = True) -> None:
    """Webhook routes and the console API; with `worker`, the delivery worker runs in this process.

    The configuration is read now (tests may replace `app[MIRROR].config` before the app starts)."""
    from server.api.context import DB, EVENTS
    from server.api.metrics import METRICS
    from server.mirror import api, webhooks
    from server.mirror.config import get_mirror_settings
    from server.mirror.hooks import api as hooks_api
    from server.mirror.hooks.sold_out import watch_sold_out

    state = MirrorState(get_mirror_settings())
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

        state.http = aiohttp.ClientSession()
        state.connectors = build_connectors(state.config, state.http)
        refresher = asyncio.create_task(_refresh_status(app))
        if worker:
            registry = app[METRICS].registry if METRICS in app else None
            state.worker = Worker(app[DB], app[INVENTORY], state.config, registry=registry)
            await state.worker.start()
        yield
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        if state.worker is not None:
            await state.worker.stop()
        if sold_out_writes:
            await asyncio.wait(set(sold_out_writes), timeout=5)
        await state.http.close()

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


async def run_worker_forever(settings: Any) -> int:
    """`liveshop worker`: the delivery worker alone (run as many as you like), until SIGTERM/SIGINT."""
    from server.db.engine import make_engine, make_sessionmaker
    from server.db.migrate import migrate
    from server.inventory.engine import Inventory
    from server.inventory.rebuild import database_loader
    from server.mirror.config import get_mirror_settings
    from server.mirror.worker import Worker
    from server.redis_client import make_redis

    engine = make_engine(settings)
    redis = make_redis(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await migrate(engine)
        db = make_sessionmaker(engine)
        inventory = Inventory(redis, hold_seconds=settings.hold_seconds)
        inventory.set_loader(database_loader(db, inventory))
        config = get_mirror_settings()
        if not config.enabled():
            log.warning("no platform has credentials: the mirror worker has nothing to deliver")
        worker = Worker(db, inventory, config)
        await worker.start()
        await stop.wait()
        await worker.stop()
    finally:
        await redis.aclose()
        await engine.dispose()
    return 0
