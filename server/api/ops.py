"""Operations endpoints: liveness, readiness (Redis, database, and what features add), metrics, OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from server import __version__
from server.api.context import DB, REDIS
from server.api.metrics import METRICS
from server.api.openapi import build_spec
from server.api.validation import json_response

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


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    return json_response(build_spec(request.app, __version__))


def setup(app: web.Application) -> None:
    app.setdefault(READINESS, {})
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/v1/openapi.json", openapi)
