"""Operations endpoints: liveness, readiness (Redis, database, and what features add), metrics, OpenAPI."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from server import __version__
from server.api.context import DB, REDIS, SETTINGS
from server.api.errors import problem_middleware
from server.api.metrics import METRICS
from server.api.openapi import build_spec
from server.api.validation import json_response
from server.errors import Code, DomainError

Handler = Callable[[web.Request], Awaitable[web.Response]]
CleanupContext = Callable[[web.Application], AsyncIterator[None]]
ReadinessCheck = Callable[[], Awaitable[str | None]]  # None when fine, else what is wrong
READINESS = web.AppKey("readiness_checks", dict[str, ReadinessCheck])


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "version": __version__})


async def readyz(request: web.Request) -> web.Response:
    app = request.app

    async def redis_check() -> str | None:
        await app[REDIS].ping()
        return None

    async def db_check() -> str | None:
        async with app[DB]() as session:
            await session.execute(text("SELECT 1"))
        return None

    features: dict[str, ReadinessCheck] = app[READINESS]
    checks: dict[str, ReadinessCheck] = {"redis": redis_check, "database": db_check, **features}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = await asyncio.wait_for(check(), timeout=2.0)
            results[name] = problem or "ok"
        except Exception as exc:
            results[name] = f"down: {type(exc).__name__}"
    ready = all(v == "ok" for v in results.values())
    return json_response(
        {"status": "ready" if ready else "not_ready", "checks": results}, status=200 if ready else 503
    )


def metrics_handler(registry: CollectorRegistry, token: str) -> Handler:
    """Prometheus text; with a token, only for `Authorization: Bearer <token>` (compared in constant time)."""
    expected = f"Bearer {token}".encode()

    async def metrics(request: web.Request) -> web.Response:
        if token:
            sent = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(sent, expected):
                error = DomainError(Code.UNAUTHORIZED, "Send Authorization: Bearer <LIVESHOP_METRICS_TOKEN>")
                error.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
                raise error
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics


def metrics_listener(app: web.Application, host: str, port: int, token: str) -> CleanupContext:
    """/metrics on its own port (a private network, or only the scraper's), off the public listener."""

    async def listen(_app: web.Application) -> AsyncIterator[None]:
        side = web.Application(middlewares=[problem_middleware])
        side.router.add_get("/metrics", metrics_handler(app[METRICS].registry, token))
        runner = web.AppRunner(side, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        yield
        await runner.cleanup()

    return listen


async def openapi(request: web.Request) -> web.Response:
    return json_response(build_spec(request.app, __version__))


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app.setdefault(READINESS, {})
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    metrics_token = settings.metrics_token.get_secret_value()
    if settings.metrics_port:
        app.cleanup_ctx.append(
            metrics_listener(app, settings.metrics_host, settings.metrics_port, metrics_token)
        )
    else:
        app.router.add_get("/metrics", metrics_handler(app[METRICS].registry, metrics_token))
    app.router.add_get("/api/v1/openapi.json", openapi)
