"""Stock and sales reach every platform sandbox: absolute quantities, coalesced per SKU, and each
liveshop sale recorded once as a Shopify order."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.mirror.sandbox.common import STATE
from server.mirror.sandbox.run import Sandboxes
from server.mirror.worker import Worker
from tests.api_client import Api
from tests.mirror.conftest import buy, eventually, viewer_token


def shown(boxes: Sandboxes, sku: str) -> dict[str, Any]:
    return {name: app[STATE].stock.get(sku) for name, app in boxes.apps.items()}


def expected(quantity: int) -> dict[str, Any]:
    avail = "IN_STOCK" if quantity > 0 else "OUT_OF_STOCK"
    return {"tiktok": quantity, "shopify": quantity, "meta": quantity, "google": avail}


async def test_a_new_product_and_a_stock_edit_reach_every_platform(
    mapi: Api, mhost: str, worker: Worker, calm: Sandboxes
) -> None:
    product = await mapi.product(mhost, stock=40)
    sku = product["sku"]

    async def converged(q: int) -> bool:
        return shown(calm, sku) == expected(q)

    await eventually(lambda: converged(40), within=15)
    r = await mapi.call(
        "PATCH", f"/api/v1/products/{product['id']}", token=mhost, json={"stock": 0, "currency": "USD"}
    )  # core: currency is required
    assert r.status == 200
    await eventually(lambda: converged(0), within=15)


async def test_each_liveshop_sale_becomes_one_shopify_order(
    mirror_node: tuple[web.Application, TestServer], mapi: Api, mhost: str, worker: Worker, calm: Sandboxes
) -> None:
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=30)
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=10)
    for _ in range(4):
        assert await buy(mapi, viewer_token(app), offer["id"]) == 1
    shop = calm.apps["shopify"][STATE]

    async def recorded() -> bool:
        mine = [
            o
            for o in shop.orders.values()
            if o.get("lineItems")
            and any(li.get("variantId") for li in o["lineItems"])
            and str(o.get("sourceIdentifier", "")).startswith("liveshop:")
        ]
        return sum(1 for o in mine if _sku_of(calm, o) == product["sku"]) == 4

    await eventually(recorded, within=15)
    await eventually(lambda: _eq(shown(calm, product["sku"]), expected(26)), within=15)
    orders = [o for o in shop.orders.values() if _sku_of(calm, o) == product["sku"]]
    assert all(o["inventoryBehaviour"] == "BYPASS" for o in orders)


def _sku_of(boxes: Sandboxes, order: dict[str, Any]) -> str | None:
    return (order.get("skus") or [None])[0]


async def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)
