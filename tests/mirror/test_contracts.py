"""The sandboxes hold the connectors to each platform's contract: signatures, compare-and-swap,
throttling signals; and the worker reacts as the platform asks."""

from __future__ import annotations

import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.mirror.backoff import Rejected, Throttled
from server.mirror.connectors.base import StockItem
from server.mirror.connectors.meta import MetaCatalog
from server.mirror.connectors.shopify import Shopify
from server.mirror.connectors.tiktok import TikTokShop
from server.mirror.sandbox.common import STATE
from server.mirror.sandbox.meta import BUCKET as META_BUCKET
from server.mirror.sandbox.run import Sandboxes
from server.mirror.sandbox.shopify import BUCKET as SHOPIFY_BUCKET
from server.mirror.worker import Worker
from tests.api_client import Api
from tests.mirror.conftest import config_for, eventually, sku


async def test_tiktok_sandbox_refuses_a_wrong_signature(calm: Sandboxes, http: aiohttp.ClientSession) -> None:
    good = TikTokShop(config_for(calm), http)
    name = sku()
    assert await good.push_stock([StockItem(name, 4, None)]) == {name: 4}
    bad = TikTokShop(config_for(calm, tiktok_app_secret="someone-elses-secret"), http)
    with pytest.raises(Rejected, match="106001"):
        await bad.call("POST", "/product/202312/products/search", {"page_size": "1"}, {"seller_skus": [name]})
    assert calm.apps["tiktok"][STATE].stock[name] == 4


async def test_shopify_compare_and_swap_rereads_a_count_changed_on_shopify(
    calm: Sandboxes, http: aiohttp.ClientSession
) -> None:
    conn = Shopify(config_for(calm), http)
    name = sku()
    assert await conn.push_stock([StockItem(name, 10, None)]) == {name: 10}
    async with http.post(calm.urls["shopify"] + "/_sandbox/orders", json={"items": {name: 2}}) as r:
        assert r.status == 200  # a Shopify buyer took 2: Shopify now holds 8, our last read says 10
    attempts = calm.apps["shopify"][STATE].attempts[name]
    assert await conn.push_stock([StockItem(name, 5, 10)]) == {name: 5}
    assert calm.apps["shopify"][STATE].stock[name] == 5
    assert calm.apps["shopify"][STATE].attempts[name] == attempts + 2  # refused as stale once, then set


async def test_shopify_2026_04_refuses_writes_without_change_from_quantity(
    calm: Sandboxes, http: aiohttp.ClientSession
) -> None:
    from server.mirror.connectors.shopify import SET_QUANTITIES
    from server.mirror.sandbox.shopify import LOCATION, TOKEN

    conn = Shopify(config_for(calm), http)
    name = sku()
    assert await conn.push_stock([StockItem(name, 3, None)]) == {name: 3}
    item = conn._items[name][1]
    url = calm.urls["shopify"] + "/admin/api/2026-04/graphql.json"
    base = {"inventoryItemId": item, "locationId": LOCATION, "quantity": 9}
    for quantity, expect in (
        ({**base}, "changeFromQuantity is required"),
        ({**base, "compareQuantity": 3}, "removed in 2026-04"),
    ):
        body = {
            "query": SET_QUANTITIES,
            "variables": {"input": {"name": "available", "reason": "correction", "quantities": [quantity]}},
        }
        async with http.post(url, json=body, headers={"X-Shopify-Access-Token": TOKEN}) as r:
            assert expect in await r.text()
    assert calm.apps["shopify"][STATE].stock[name] == 3
    old_style = Shopify(config_for(calm, shopify_api_version="2025-10"), http)
    assert await old_style.push_stock([StockItem(name, 4, 3)]) == {name: 4}  # compareQuantity before 2026-01


async def test_shopify_throttled_pauses_the_platform_for_the_bucket_refill(
    calm: Sandboxes, http: aiohttp.ClientSession
) -> None:
    conn = Shopify(config_for(calm), http)
    bucket = calm.apps["shopify"][SHOPIFY_BUCKET]
    capacity, rate = bucket.capacity, bucket.rate
    bucket.capacity, bucket.rate, bucket.tokens = 20.0, 20.0, 0.0
    try:
        with pytest.raises(Throttled) as caught:
            await conn.push_stock([StockItem(sku(), 1, None)])
        assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 1.0
        assert conn.gate.remaining > 0
        started = time.monotonic()
        name = sku()
        assert await conn.push_stock([StockItem(name, 2, None)]) == {name: 2}  # waits out the gate first
        assert time.monotonic() - started >= 0.2
    finally:
        bucket.capacity, bucket.rate, bucket.tokens = capacity, rate, capacity


async def test_meta_80014_is_throttling_and_usage_header_is_read(
    calm: Sandboxes, http: aiohttp.ClientSession
) -> None:
    conn = MetaCatalog(config_for(calm), http)
    bucket = calm.apps["meta"][META_BUCKET]
    saved = bucket.tokens
    bucket.tokens = 0.0
    bucket.stamp = time.monotonic()
    rate = bucket.rate
    bucket.rate = 0.001
    try:
        with pytest.raises(Throttled, match="80014"):
            await conn.push_stock([StockItem(sku(), 1, None)])
    finally:
        bucket.rate, bucket.tokens = rate, max(saved, 5.0)
    proofless = MetaCatalog(config_for(calm, meta_app_secret="wrong"), http)
    with pytest.raises(Rejected, match="appsecret_proof"):
        await proofless.push_stock([StockItem(sku(), 1, None)])


async def test_two_workers_deliver_each_sale_once(
    mirror_node: tuple[web.Application, TestServer], mapi: Api, mhost: str, calm: Sandboxes
) -> None:
    from server.api.context import DB, INVENTORY
    from server.mirror.state import MIRROR
    from tests.mirror.conftest import buy, viewer_token

    app = mirror_node[0]
    workers = [Worker(app[DB], app[INVENTORY], app[MIRROR].config) for _ in range(2)]
    for w in workers:
        await w.start()
    try:
        product = await mapi.product(mhost, stock=40)
        b = await mapi.broadcast(mhost)
        offer = await mapi.offer(mhost, b["id"], product["id"], quantity=20)
        for _ in range(15):
            assert await buy(mapi, viewer_token(app), offer["id"]) == 1
        shop = calm.apps["shopify"][STATE]

        async def recorded() -> bool:
            return sum(1 for o in shop.orders.values() if product["sku"] in o.get("skus", [])) == 15

        await eventually(recorded, within=20)
        keys = [
            o["sourceIdentifier"].removeprefix("liveshop:")
            for o in shop.orders.values()
            if product["sku"] in o.get("skus", [])
        ]
        uses = [shop.attempts[f"idempotency-key:liveshop-order-{k}"] for k in keys]
        assert uses == [1] * 15  # no sale was sent twice, not even to be deduplicated
        await eventually(lambda: _is(calm, product["sku"], 25), within=15)
    finally:
        for w in workers:
            await w.stop()


async def _is(boxes: Sandboxes, name: str, q: int) -> bool:
    return all(boxes.apps[n][STATE].stock.get(name) == q for n in ("tiktok", "shopify", "meta"))
