"""What every connector offers the worker, and the HTTP plumbing that turns platform answers into
Throttled / Transient / Rejected."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from server.config import MirrorSettings
from server.mirror.backoff import Gate, Rejected, Throttled, Transient, parse_retry_after

log = logging.getLogger("liveshop.mirror")


@dataclass
class StockItem:
    sku: str
    quantity: int  # liveshop's absolute sellable quantity now
    last_value: int | None  # what this platform was last told (None: never)


@dataclass
class PlatformLine:
    sku: str
    quantity: int
    unit_price: int  # minor units
    currency: str


@dataclass
class PlatformOrder:
    """An order placed on a platform, in the shape inbound processing takes."""

    channel: str
    external_id: str
    lines: list[PlatformLine]
    buyer: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


class Connector:
    """Base: `push_stock` sets absolute quantities; the rest is optional per platform."""

    name = "base"
    records_orders = False  # liveshop sales are recorded as orders on this platform
    polls_orders = False  # platform orders are fetched by polling

    def __init__(self, config: MirrorSettings, http: aiohttp.ClientSession) -> None:
        self.config = config
        self.http = http
        self.gate = Gate()
        self.calls = 0  # requests sent, throttled or not

    def project(self, quantity: int) -> int:
        """The value this platform holds for a quantity (Google only knows in or out of stock)."""
        return max(quantity, 0)

    async def push_stock(self, items: list[StockItem]) -> dict[str, int | Exception]:
        """sku -> the value now on the platform, or the error for that SKU."""
        raise NotImplementedError

    async def record_order(self, order: dict[str, Any]) -> str:
        """Record a liveshop sale on the platform; returns the platform's order id."""
        raise NotImplementedError

    async def poll_orders(self, since: int) -> list[PlatformOrder]:
        raise NotImplementedError

    async def acknowledge(self, order: PlatformOrder, reference: str) -> None:
        """Tell the platform its order was taken in (Meta's acknowledge_order)."""

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Reply:
        """One request, after the platform's throttle gate. Timeouts, dropped connections and 5xx are
        Transient; 429 is Throttled with its Retry-After (the gate pauses the whole platform)."""
        await self.gate.wait()
        self.calls += 1
        timeout = aiohttp.ClientTimeout(total=self.config.mirror_timeout_s)
        try:
            async with self.http.request(
                method,
                url,
                params=params,
                data=form if form is not None else body,
                headers=headers,
                timeout=timeout,
            ) as resp:
                raw = await resp.read()
                status, hdrs = resp.status, {k.lower(): v for k, v in resp.headers.items()}
        except TimeoutError as exc:
            raise Transient(f"{self.name}: timed out after {self.config.mirror_timeout_s}s") from exc
        except aiohttp.ClientError as exc:
            raise Transient(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        try:
            data: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            data = raw.decode(errors="replace")[:300]
        if status == 429:
            wait = parse_retry_after(hdrs.get("retry-after"))
            self.gate.pause(wait or 1.0)
            raise Throttled(f"{self.name}: HTTP 429", wait)
        if status >= 500:
            raise Transient(f"{self.name}: HTTP {status}", parse_retry_after(hdrs.get("retry-after")))
        if status in (401, 403) and not isinstance(data, dict):
            raise Rejected(f"{self.name}: HTTP {status} (credentials)")
        return Reply(status, hdrs, data)


def compact(value: Any) -> bytes:
    """JSON exactly as sent (and signed): no spaces."""
    return orjson.dumps(value)
