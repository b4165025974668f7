"""What the payment sandboxes share: injected latency and failures, Stripe-style form decoding, CORS."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Faults:
    """Every API call waits `latency_s`; a share answers 5xx (`error`) or hangs `timeout_s` first
    (`timeout`), so a client with a shorter time limit gives up not knowing what happened."""

    latency_s: float = 0.0
    error: float = 0.0
    timeout: float = 0.0
    timeout_s: float = 30.0
    seed: int | None = None
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self) -> str:
        x = self.rng.random()
        if x < self.error:
            return "error"
        if x < self.error + self.timeout:
            return "timeout"
        return "ok"


FAULTS = web.AppKey("payment_sandbox_faults", Faults)
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
}


def fault_middleware(failed: Callable[[], web.Response]) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=CORS)
        if request.path.startswith("/_sandbox"):
            response = await handler(request)
        else:
            await request.read()  # the whole request arrives before any injected delay
            faults = request.app[FAULTS]
            if faults.latency_s:
                await asyncio.sleep(faults.latency_s)
            outcome = faults.roll()
            if outcome == "error":
                return failed()
            if outcome == "timeout":
                await asyncio.sleep(faults.timeout_s)
            response = await handler(request)
        response.headers.update(CORS)
        return response

    return middleware


async def set_faults(request: web.Request) -> web.Response:
    request.app[FAULTS] = Faults(**(await request.json()))
    return web.json_response({"ok": True})


_KEY = re.compile(r"[^\[\]]+")


def nested(pairs: Any) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[order_id]=x`, `a[b][c]=1`) into nested dicts."""
    out: dict[str, Any] = {}
    for key, value in pairs.items():
        parts = _KEY.findall(key)
        if not parts:
            continue
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return out
