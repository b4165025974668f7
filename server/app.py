"""Builds the aiohttp Application: the shared floors, then each feature, wired together here only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import socketio
from aiohttp import web

from server import live, media, mirror, webui
from server.api import auth, headers, ops
from server.api.clients import CLIENTS, ClientPolicy, parse_networks
from server.api.context import DB, ENGINE, EVENTS, HOOKS, INVENTORY, REDIS, SETTINGS
from server.api.errors import problem_middleware
from server.api.metrics import METRICS, Metrics, metrics_middleware
from server.api.ratelimit import LIMITER, Limiter, make_storage
from server.commerce import setup as commerce
from server.commerce.sweeper import ensure_loaded
from server.config import Settings, get_settings
from server.db.engine import make_engine, make_sessionmaker
from server.db.migrate import migrate
from server.events import EventBus
from server.inventory.engine import Inventory
from server.redis_client import make_redis

log = logging.getLogger("liveshop.server")
STATIC = Path(__file__).parent / "static"


def build_app(
    settings: Settings | None = None, *, run_migrations: bool = True, background: bool = True
) -> web.Application:
    """One node. `background=False` leaves out the sweeper and the mirror worker (tests drive them)."""
    settings = settings or get_settings()
    app = web.Application(
        middlewares=[metrics_middleware, problem_middleware, auth.auth_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[ENGINE] = make_engine(settings)
    app[DB] = make_sessionmaker(app[ENGINE])
    app[REDIS] = make_redis(settings)
    app[EVENTS] = EventBus(settings.node_id, None if settings.embedded_redis else app[REDIS])
    app[INVENTORY] = Inventory(
        app[REDIS], hold_seconds=settings.hold_seconds, batch_max=settings.claim_batch_max
    )
    app[METRICS] = Metrics()
    app[CLIENTS] = ClientPolicy(
        parse_networks(settings.trusted_proxies), parse_networks(settings.trusted_clients)
    )
    app[LIMITER] = Limiter(make_storage(app[REDIS], settings.embedded_redis))
    app[HOOKS] = {}

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if run_migrations:
            await migrate(app[ENGINE])
        await app[EVENTS].start()
        try:
            await ensure_loaded(app)
        except Exception as exc:  # Redis may be down at boot; the sweeper retries
            log.warning("could not load offer counters at start error=%r", exc)
        log.info("liveshop node up node=%s url=%s", settings.node_id, settings.base_url)
        yield
        await app[EVENTS].stop()
        await app[REDIS].aclose()
        await app[ENGINE].dispose()

    app.cleanup_ctx.append(lifecycle)
    headers.setup(app, settings.frame_ancestors)
    ops.setup(app)
    auth.setup(app)
    commerce.setup(app, sweeper=background)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=live.client_manager(settings),
        cors_allowed_origins=settings.cors_origins.split(",") if settings.cors_origins != "*" else "*",
        max_http_buffer_size=64 * 1024,
    )
    sio.attach(app)
    live.setup(app, sio)
    media.setup(app)
    mirror.setup(app, worker=background and settings.run_worker)
    webui.setup(app)
    app.router.add_static("/static", STATIC, append_version=True)
    return app
