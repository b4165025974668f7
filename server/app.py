"""Builds the aiohttp Application: the shared floors, then each feature, wired together here only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from server import live, media, mirror, models, payments, webui
from server.api import auth, headers, ops, seams
from server.api.clients import CLIENTS, ClientPolicy, parse_networks
from server.api.context import CLOCK, DB, ENGINE, EVENTS, INVENTORY, REDIS, SETTINGS
from server.api.errors import problem_middleware
from server.api.metrics import METRICS, Metrics, metrics_middleware
from server.api.ratelimit import LIMITER, Limiter, make_storage
from server.api.tokens import Principal
from server.clock import SYSTEM_CLOCK, Clock
from server.commerce import setup as commerce
from server.commerce.broadcasts import broadcast_snapshot
from server.commerce.comment_buy import claim_pinned
from server.commerce.coupons import coupon_check
from server.commerce.giveaways.keyword import enter_by_keyword
from server.commerce.sweeper import ensure_loaded
from server.config import Settings, get_settings
from server.events import EventBus
from server.live.room import LiveRoom
from server.services import Services
from server.tasks import bounded

log = logging.getLogger("liveshop.server")
STATIC = Path(__file__).parent / "static"


def build_app(
    settings: Settings | None = None,
    *,
    run_migrations: bool = True,
    background: bool = True,
    clock: Clock = SYSTEM_CLOCK,
) -> web.Application:
    """One node. `background=False` leaves out the sweeper and the mirror worker (tests drive them);
    `clock` is the time every expiry, window and rate limit reads (tests pass one they can move)."""
    settings = settings or get_settings()
    models.import_all_models()  # every table in the metadata, whatever the features import
    app = web.Application(
        middlewares=[metrics_middleware, problem_middleware, auth.auth_middleware],
        client_max_size=settings.max_body_bytes,
    )
    services = Services.create(settings, clock=clock)
    app[SETTINGS] = settings
    app[ENGINE] = services.engine
    app[DB] = services.db
    app[REDIS] = services.redis
    app[EVENTS] = EventBus(settings.node_id, None if settings.embedded_redis else services.redis)
    app[CLOCK] = clock
    app[INVENTORY] = services.inventory
    app[METRICS] = Metrics()
    app[CLIENTS] = ClientPolicy(
        parse_networks(settings.trusted_proxies), parse_networks(settings.trusted_clients)
    )
    app[LIMITER] = Limiter(make_storage(app[REDIS], settings.embedded_redis))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if run_migrations:
            await services.migrate()
        await app[EVENTS].start()
        try:
            await ensure_loaded(app)
        except Exception as exc:  # Redis may be down at boot; the sweeper retries
            log.warning("could not load offer counters at start error=%r", exc)
        log.info("liveshop node up node=%s url=%s", settings.node_id, settings.base_url)
        yield
        await bounded(app[EVENTS].stop(), what="events")
        await bounded(services.close(), what="redis and database")

    app.cleanup_ctx.append(seams.checked_at_start)
    app.cleanup_ctx.append(lifecycle)
    provider_apis = (settings.payments.stripe_base_url, settings.payments.toss_base_url)
    headers.setup(app, settings.frame_ancestors, provider_apis)
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
    room = live.setup(app, sio)
    media.setup(app)
    mirror.setup(app, worker=background and settings.run_worker)
    desk = payments.setup(app, reconcile=background)
    webui.setup(app)
    app.router.add_static("/static", STATIC, append_version=True)
    wire_seams(app, room, desk)
    return app


def wire_seams(app: web.Application, room: LiveRoom, desk: seams.CheckoutPayments) -> None:
    """Each feature's answers for the others: the only place that knows who answers what."""

    async def snapshot(broadcast_id: str) -> dict[str, Any]:
        return await broadcast_snapshot(app, broadcast_id)

    async def pinned_claim(
        broadcast_id: str, buyer: Principal, quantity: int, key: str, network: str | None, source: str | None
    ) -> tuple[dict[str, Any], bool] | None:
        return await claim_pinned(app, broadcast_id, buyer, quantity, key, network, source)

    async def giveaway_keyword(broadcast_id: str, user: Principal, text: str) -> dict[str, Any] | None:
        return await enter_by_keyword(app, broadcast_id, user, text)

    app[seams.BUYER_GUARD] = room.buyer_guard
    app[seams.VIEWER_COUNT] = room.viewers.count
    app[seams.AUDIENCE] = room.audience.figures
    app[seams.BROADCAST_SNAPSHOT] = snapshot
    app[seams.PINNED_CLAIM] = pinned_claim
    app[seams.PAYMENTS] = desk
    app[seams.GIVEAWAY_KEYWORD] = giveaway_keyword
    checks: list[seams.AuditCheck] = [payments.money_check, coupon_check]
    app[seams.AUDIT_CHECKS] = checks
    app[seams.MEDIA_CLOCK] = media.media_clock(app)
    seams.check(app)
