"""Prometheus metrics: one registry per app, HTTP timings by route, and gauges features register."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

METRICS: web.AppKey[Metrics] = web.AppKey("metrics")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_cpu_seconds_total, resident memory, open fds: what a load test reads the node's CPU from.
        ProcessCollector(registry=self.registry)
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
        # Labelled children, looked up once: labels() takes a lock and builds keys on every call.
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._timings: dict[str, Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        count = self._counts.get((method, route, status))
        if count is None:
            count = self._counts[(method, route, status)] = self.http_requests.labels(
                method, route, str(status)
            )
        timing = self._timings.get(route)
        if timing is None:
            timing = self._timings[route] = self.http_seconds.labels(route)
        count.inc()
        timing.observe(seconds)


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
        request.app[METRICS].observe(request.method, route, status, time.perf_counter() - start)
