"""A spike of 1,000 liveshop orders across 5 SKUs while every sandbox throttles, fails and times out
part of the time: each platform ends with exactly liveshop's stock, in a handful of calls per SKU."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import DB
from server.mirror.sandbox.common import STATE, Faults
from server.mirror.sandbox.run import Sandboxes
from server.mirror.status import mirror_status
from server.mirror.worker import Worker
from tests.api_client import Api
from tests.mirror.conftest import buy, eventually, viewer_token

FAULTS = (
    {} if os.environ.get("NOFAULTS") else dict(throttle=0.1, error=0.1, timeout=0.02, timeout_s=1.2, seed=7)
)
ORDERS = 1000
SKUS = 5
SHELF = 100  # units left on each product's shelf while its offer runs
OFFER = 300  # units in each product's flash offer


def platform_values(boxes: Sandboxes, skus: list[str]) -> dict[str, list[Any]]:
    return {name: [app[STATE].stock.get(s) for s in skus] for name, app in boxes.apps.items()}


async def test_spike_of_1000_orders_converges_on_every_platform_in_few_calls(
    mirror_node: tuple[web.Application, TestServer], mapi: Api, mhost: str, worker: Worker, calm: Sandboxes
) -> None:
    app = mirror_node[0]
    products = [await mapi.product(mhost, stock=SHELF + OFFER) for _ in range(SKUS)]
    skus = [p["sku"] for p in products]
    b = await mapi.broadcast(mhost)
    offers = [await mapi.offer(mhost, b["id"], p["id"], quantity=OFFER) for p in products]
    await eventually(lambda: _all(calm, skus, SHELF + OFFER), within=20)
    for box in calm.apps.values():
        box[STATE].faults = Faults(**FAULTS)
    before = {name: {s: box[STATE].attempts[s] for s in skus} for name, box in calm.apps.items()}
    calls_before = {name: c.calls for name, c in worker.connectors.items()}

    sem = asyncio.Semaphore(16)

    async def one(n: int) -> int:
        async with sem:
            return await buy(mapi, viewer_token(app), offers[n % SKUS]["id"])

    started = time.monotonic()
    sold = sum(await asyncio.gather(*(one(n) for n in range(ORDERS))))
    sales_s = time.monotonic() - started
    assert sold == ORDERS
    final = SHELF + OFFER - ORDERS // SKUS

    last_sale = time.monotonic()
    at_last_sale = {name: c.calls - calls_before[name] for name, c in worker.connectors.items()}
    await eventually(lambda: _all(calm, skus, final), within=60, every=0.05)
    converged_s = time.monotonic() - last_sale
    async with app[DB]() as session:
        report = await mirror_status(session, list(worker.connectors))
    assert all(p["dead_letters"] == 0 for p in report["platforms"].values()), report

    at_convergence = {name: c.calls - calls_before[name] for name, c in worker.connectors.items()}
    stock_calls = {
        name: {s: box[STATE].attempts[s] - before[name][s] for s in skus} for name, box in calm.apps.items()
    }
    answered = {name: dict(box[STATE].answered) for name, box in calm.apps.items()}
    # 200 sales per SKU; coalescing sends the latest absolute value at most every stock interval.
    for name, per_sku in stock_calls.items():
        assert max(per_sku.values()) <= 60, (name, per_sku)
    print(
        f"\nspike: {ORDERS} orders over {SKUS} SKUs sold in {sales_s:.1f}s; platforms converged "
        f"{converged_s:.2f}s after the last sale"
    )
    print(f"stock writes received per SKU (incl. faulted): {stock_calls}")
    print(f"sandbox answers: {answered}")
    shop = calm.apps["shopify"][STATE]

    async def recorded() -> bool:
        return sum(1 for o in shop.orders.values() if _ours(o, skus)) >= ORDERS

    recorded_s = await eventually(recorded, within=90, every=0.2)
    mine = [o for o in shop.orders.values() if _ours(o, skus)]
    assert len(mine) == ORDERS  # every sale once, retries and timeouts included (@idempotent)
    assert len({o["sourceIdentifier"] for o in mine}) == ORDERS
    print(f"worker requests per platform at the last sale {at_last_sale}, at convergence {at_convergence}")
    print(
        f"shopify: {ORDERS} sales recorded as orders {converged_s + recorded_s:.1f}s after the last sale, "
        f"{worker.connectors['shopify'].calls - calls_before['shopify']} Shopify requests "
        "in all (stock + orders)"
    )
    for box in calm.apps.values():
        box[STATE].faults = Faults()


def _ours(order: dict[str, Any], skus: list[str]) -> bool:
    return any(s in skus for s in order.get("skus", []))


async def _all(boxes: Sandboxes, skus: list[str], quantity: int) -> bool:
    values = platform_values(boxes, skus)
    avail = "IN_STOCK" if quantity > 0 else "OUT_OF_STOCK"
    return values["tiktok"] == values["shopify"] == values["meta"] == [quantity] * len(skus) and values[
        "google"
    ] == [avail] * len(skus)
