"""Operations endpoints (server/api/ops.py): liveness says the version, readiness names every check
and what is wrong, metrics are Prometheus text, and the spec is served."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server import __version__
from server.api import ops
from server.api.context import DB, REDIS
from server.api.metrics import METRICS, Metrics


def ops_app(node: web.Application) -> web.Application:
    app = web.Application()
    app[DB], app[REDIS], app[METRICS] = node[DB], node[REDIS], Metrics()
    ops.setup(app)
    return app


async def test_ready_when_every_check_passes_and_each_failure_is_named(
    node: tuple[web.Application, TestServer],
) -> None:
    app = ops_app(node[0])
    state = {"lag": None}

    async def room_channel() -> str | None:
        return state["lag"]

    async def broken() -> str | None:
        raise ConnectionError("gone")

    app[ops.READINESS]["room_channel"] = room_channel
    async with TestClient(TestServer(app)) as client:
        ok = await client.get("/readyz")
        assert ok.status == 200
        assert await ok.json() == {
            "status": "ready",
            "checks": {"redis": "ok", "database": "ok", "room_channel": "ok"},
        }
        state["lag"] = "room channel silent for 9.0s"
        app[ops.READINESS]["mirror"] = broken
        bad = await client.get("/readyz")
        body = await bad.json()
        assert bad.status == 503 and body["status"] == "not_ready"
        assert body["checks"] == {
            "redis": "ok",
            "database": "ok",
            "room_channel": "room channel silent for 9.0s",
            "mirror": "down: ConnectionError",
        }


async def test_liveness_metrics_and_spec_are_served(node: tuple[web.Application, TestServer]) -> None:
    app = ops_app(node[0])
    app[METRICS].observe("GET", "/x", 200, 0.01)
    async with TestClient(TestServer(app)) as client:
        health = await client.get("/healthz")
        assert await health.json() == {"status": "ok", "version": __version__}
        metrics = await client.get("/metrics")
        assert metrics.headers["Content-Type"].startswith("text/plain")
        assert (
            'liveshop_http_requests_total{method="GET",route="/x",status="200"} 1.0' in await metrics.text()
        )
        spec = await (await client.get("/api/v1/openapi.json")).json()
        assert spec["openapi"].startswith("3.") and spec["info"]["version"] == __version__
