"""What every sandbox shares: fault injection, a token bucket, call counting, the /_sandbox admin API."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Faults:
    """Share of requests answered with the throttling signal, a 5xx, or a slow answer (applied after
    `timeout_s`, so the client cannot know whether it happened)."""

    throttle: float = 0.0
    error: float = 0.0
    timeout: float = 0.0
    timeout_s: float = 2.0
    latency_s: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self) -> str:
        x = self.rng.random()
        if x < self.throttle:
            return "throttle"
        if x < self.throttle + self.error:
            return "error"
        if x < self.throttle + self.error + self.timeout:
            return "timeout"
        return "ok"


@dataclass
class Bucket:
    """Token bucket: `capacity` tokens, `rate` per second."""

    capacity: float
    rate: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, cost: float = 1.0) -> bool:
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = self.capacity
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def wait_for(self, cost: float) -> float:
        return max((cost - self.tokens) / self.rate, 0.0)


@dataclass
class SandboxState:
    name: str
    faults: Faults = field(default_factory=Faults)
    stock: dict[str, Any] = field(default_factory=dict)  # sku -> what the platform shows
    writes: Counter[str] = field(default_factory=Counter)  # sku -> stock writes applied
    attempts: Counter[str] = field(default_factory=Counter)  # sku -> stock write requests received
    requests: int = 0
    answered: Counter[str] = field(default_factory=Counter)  # ok | throttle | error | timeout | unauthorized
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_url: str = ""

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stock": self.stock,
            "writes": dict(self.writes),
            "attempts": dict(self.attempts),
            "requests": self.requests,
            "answered": dict(self.answered),
            "orders": list(self.orders.values()),
        }


STATE = web.AppKey("sandbox_state", SandboxState)


def fault_middleware(throttled: Callable[[web.Request], web.Response], failed: Callable[[], web.Response]):  # type: ignore[no-untyped-def]
    """Injects the platform's own throttle and 5xx answers, and slow answers, into API calls."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox"):
            return await handler(request)
        state = request.app[STATE]
        state.requests += 1
        faults = state.faults
        if b"orderCreate" in await request.read():
            state.answered["received-orderCreate"] += 1  # counted on arrival, before any latency
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        outcome = faults.roll()
        if outcome == "throttle":
            state.answered["throttle"] += 1
            return throttled(request)
        if outcome == "error":
            state.answered["error"] += 1
            return failed()
        if outcome == "timeout":
            state.answered["timeout"] += 1
            await asyncio.sleep(faults.timeout_s)
        response = await handler(request)
        state.answered["ok" if response.status < 400 else str(response.status)] += 1
        return response

    return middleware


def add_admin(app: web.Application, extra: dict[str, Handler] | None = None) -> None:
    """/_sandbox/state (GET), /_sandbox/faults (POST json), /_sandbox/reset (POST), and extras."""

    async def state(request: web.Request) -> web.Response:
        return web.json_response(request.app[STATE].view())

    async def faults(request: web.Request) -> web.Response:
        data = await request.json()
        request.app[STATE].faults = Faults(**data)
        return web.json_response({"ok": True})

    async def reset(request: web.Request) -> web.Response:
        s = request.app[STATE]
        s.writes.clear()
        s.attempts.clear()
        s.answered.clear()
        s.requests = 0
        return web.json_response({"ok": True})

    async def webhook(request: web.Request) -> web.Response:
        request.app[STATE].webhook_url = (await request.json())["url"]
        return web.json_response({"ok": True})

    app.router.add_get("/_sandbox/state", state)
    app.router.add_post("/_sandbox/faults", faults)
    app.router.add_post("/_sandbox/reset", reset)
    app.router.add_post("/_sandbox/webhook", webhook)
    for path, handler in (extra or {}).items():
        app.router.add_post(path, handler)
