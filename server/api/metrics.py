"""Prometheus metrics: one registry per app, HTTP timings by route, and gauges features register."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

METRICS: web.AppKey[Metrics] = web.AppKey("metrics")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "liveshop_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.http_seconds = Histogram(
            "liveshop_http_request_seconds",
            "HTTP request time",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )


@web.middleware
async def metrics_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        info = request.match_info.route.resource
        route = info.canonical if info is not None else "unmatched"
        m = request.app[METRICS]
        m.http_requests.labels(request.method, route, str(status)).inc()
        m.http_seconds.labels(route).observe(time.perf_counter() - start)
