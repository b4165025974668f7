"""HTTP metrics (server/api/metrics.py): one count per request by route template (never by raw path,
so ids cannot blow up the label set), with its status, including errors."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.api.metrics import METRICS, Metrics, metrics_middleware


def count(metrics: Metrics, method: str, route: str, status: int) -> float:
    value = metrics.registry.get_sample_value(
        "liveshop_http_requests_total", {"method": method, "route": route, "status": str(status)}
    )
    return value or 0.0


def test_observations_of_one_route_share_their_labelled_series() -> None:
    metrics = Metrics()
    for seconds in (0.002, 0.2):
        metrics.observe("GET", "/api/v1/offers/{id}", 200, seconds)
    metrics.observe("GET", "/api/v1/offers/{id}", 404, 0.001)
    assert count(metrics, "GET", "/api/v1/offers/{id}", 200) == 2
    assert count(metrics, "GET", "/api/v1/offers/{id}", 404) == 1
    sample = metrics.registry.get_sample_value(
        "liveshop_http_request_seconds_count", {"route": "/api/v1/offers/{id}"}
    )
    assert sample == 3


async def test_the_middleware_counts_by_route_template_and_status() -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text=request.match_info["id"])

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    app = web.Application(middlewares=[metrics_middleware])
    app[METRICS] = Metrics()
    app.router.add_get("/things/{id}", ok)
    app.router.add_get("/gone", missing)
    app.router.add_get("/broken", broken)
    async with TestClient(TestServer(app)) as client:
        for thing in ("a", "b", "c"):
            assert (await client.get(f"/things/{thing}")).status == 200
        assert (await client.get("/gone")).status == 404
        assert (await client.get("/broken")).status == 500
        assert (await client.get("/no/such/route")).status == 404
    metrics = app[METRICS]
    assert count(metrics, "GET", "/things/{id}", 200) == 3
    assert count(metrics, "GET", "/gone", 404) == 1
    assert count(metrics, "GET", "/broken", 500) == 1
    assert count(metrics, "GET", "unmatched", 404) == 1  # a raw path never becomes a label
