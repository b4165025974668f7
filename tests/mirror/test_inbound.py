"""Platform orders take units from liveshop's own inventory: verified webhooks, replays recognised,
bad input refused with nothing changed, and a cross-channel rush on the last units never oversold."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from server.api.context import DB
from server.inventory.models import Order, Product
from server.mirror.sandbox import shopify as shop_box
from server.mirror.sandbox import tiktok as tt_box
from server.mirror.sandbox.common import STATE
from server.mirror.sandbox.run import Sandboxes
from server.mirror.worker import Worker
from tests.api_client import Api, Reply
from tests.mirror.conftest import buy, eventually, viewer_token


async def shopify_hook(
    api: Api,
    order: dict[str, Any],
    webhook_id: str | None = None,
    *,
    secret: str | None = None,
    raw: bytes | None = None,
) -> Reply:
    body = raw if raw is not None else json.dumps(order).encode()
    headers = shop_box.signed_webhook(body, webhook_id=webhook_id, secret=secret or shop_box.WEBHOOK_SECRET)
    return await api.call("POST", "/api/v1/webhooks/shopify", data=body, headers=headers)


async def tiktok_hook(
    api: Api, order_id: str, notification: str | None = None, *, sig: str | None = None
) -> Reply:
    raw = tt_box.event_for({"id": order_id, "status": "AWAITING_SHIPMENT", "update_time": 1}, notification)
    sign = (
        sig or hmac.new(tt_box.APP_SECRET.encode(), tt_box.APP_KEY.encode() + raw, hashlib.sha256).hexdigest()
    )
    return await api.call(
        "POST",
        "/api/v1/webhooks/tiktok-shop",
        data=raw,
        headers={"Authorization": sign, "Content-Type": "application/json"},
    )


async def stock_of(app: web.Application, product_id: str) -> int:
    async with app[DB]() as session:
        return int((await session.get(Product, product_id, populate_existing=True)).stock)  # type: ignore[union-attr]


async def orders_of(app: web.Application, product_id: str) -> dict[str, int]:
    """status -> units, over every channel."""
    async with app[DB]() as session:
        rows = (
            await session.execute(
                select(Order.channel, Order.status, func.sum(Order.quantity))
                .where(Order.product_id == product_id)
                .group_by(Order.channel, Order.status)
            )
        ).all()
    return {f"{c}:{s}": int(q) for c, s, q in rows}


async def test_shopify_order_takes_shelf_units_once_even_when_replayed(
    mirror_node: tuple[web.Application, TestServer], mapi: Api, mhost: str
) -> None:
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=10)
    order = shop_box.rest_order(int(uuid.uuid4().int % 10**12), {product["sku"]: 3, "NOT-OURS": 2})
    first = await shopify_hook(mapi, order, "wh-1-" + product["sku"])
    assert first.status == 200, first.body
    assert [(line["status"], line["source"]) for line in first.body["lines"]] == [
        ("confirmed", "shelf"),
        ("unknown_sku", ""),
    ]
    assert await stock_of(app, product["id"]) == 7
    again = await shopify_hook(mapi, order, "wh-1-" + product["sku"])  # the same delivery, replayed
    assert again.status == 200 and again.body["status"] == "replay"
    resent = await shopify_hook(mapi, order, "wh-2-" + product["sku"])  # same order, a new delivery id
    assert resent.body["lines"][0]["status"] == "replay"
    assert await stock_of(app, product["id"]) == 7
    assert await orders_of(app, product["id"]) == {"shopify:confirmed": 3}


async def test_bad_signatures_and_malformed_webhooks_change_nothing(
    mirror_node: tuple[web.Application, TestServer], mapi: Api, mhost: str
) -> None:
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=10)
    order = shop_box.rest_order(777001, {product["sku"]: 1})
    wrong = await shopify_hook(mapi, order, secret="not-the-secret")
    assert (wrong.status, wrong.code) == (401, "bad_signature")
    unsigned = await mapi.call(
        "POST",
        "/api/v1/webhooks/shopify",
        json=order,
        headers={"X-Shopify-Webhook-Id": "x", "X-Shopify-Topic": "orders/create"},
    )
    assert (unsigned.status, unsigned.code) == (401, "bad_signature")
    body = json.dumps(order).encode()
    tampered_headers = shop_box.signed_webhook(body)
    tampered = await mapi.call(
        "POST",
        "/api/v1/webhooks/shopify",
        data=body.replace(b'"quantity": 1', b'"quantity": 9'),
        headers=tampered_headers,
    )
    assert tampered.status == 401
    for raw, status in (
        (b"{not json", 400),
        (b"[]", 422),
        (b'{"id": 5}', 422),
        (json.dumps({"id": 6, "line_items": [{"sku": product["sku"], "quantity": -4}]}).encode(), 422),
        (json.dumps({"id": 7, "line_items": [{"sku": product["sku"], "quantity": "2"}]}).encode(), 422),
    ):
        r = await shopify_hook(mapi, {}, raw=raw)
        assert r.status == status, (raw, r.body)
    tt_wrong = await tiktok_hook(mapi, "123", sig="0" * 64)
    assert (tt_wrong.status, tt_wrong.code) == (401, "bad_signature")
    tt_bad = await mapi.call(
        "POST",
        "/api/v1/webhooks/tiktok-shop",
        data=b'{"type": 1}',
        headers={
            "Authorization": hmac.new(
                tt_box.APP_SECRET.encode(), tt_box.APP_KEY.encode() + b'{"type": 1}', hashlib.sha256
            ).hexdigest()
        },
    )
    assert tt_bad.status == 422
    assert await stock_of(app, product["id"]) == 10
    assert await orders_of(app, product["id"]) == {}


async def test_our_own_sale_echoed_back_by_shopify_is_ignored(
    mirror_node: tuple[web.Application, TestServer], mapi: Api, mhost: str
) -> None:
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=10)
    echo = shop_box.rest_order(
        777002, {product["sku"]: 2}, source_name="liveshop", source_identifier="liveshop:or_x"
    )
    r = await shopify_hook(mapi, echo)
    assert r.status == 200 and r.body["status"] == "ignored"
    assert await stock_of(app, product["id"]) == 10


async def test_tiktok_webhook_fetches_the_order_and_replays_are_recognised(
    mirror_node: tuple[web.Application, TestServer],
    mapi: Api,
    mhost: str,
    calm: Sandboxes,
    http: aiohttp.ClientSession,
) -> None:
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=10)
    async with http.post(
        calm.urls["tiktok"] + "/_sandbox/orders", json={"items": {product["sku"]: 2}, "notify": False}
    ) as r:
        placed = (await r.json())["order"]
    first = await tiktok_hook(mapi, placed["id"], "note-" + placed["id"])
    assert first.status == 200, first.body
    assert first.body["lines"][0]["status"] == "confirmed" and first.body["lines"][0]["quantity"] == 2
    assert (await tiktok_hook(mapi, placed["id"], "note-" + placed["id"])).body["status"] == "replay"
    assert (await tiktok_hook(mapi, placed["id"], "note2-" + placed["id"])).body["lines"][0][
        "status"
    ] == "replay"
    assert await stock_of(app, product["id"]) == 8


async def test_platform_orders_and_a_liveshop_rush_on_the_last_units_never_oversell(
    mirror_node: tuple[web.Application, TestServer],
    mapi: Api,
    mhost: str,
    calm: Sandboxes,
    http: aiohttp.ClientSession,
) -> None:
    """5 units, all in a live flash offer (the shelf is empty): 30 liveshop buyers, 10 Shopify orders
    and 5 TikTok orders arrive at the same moment. Exactly 5 units are sold across channels; every
    platform order that found nothing is flagged, never oversold."""
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=5)
    b = await mapi.broadcast(mhost)
    offer = await mapi.offer(mhost, b["id"], product["id"], quantity=5, per_buyer_limit=1)
    sku = product["sku"]
    tiktok_ids = []
    for _ in range(5):
        async with http.post(
            calm.urls["tiktok"] + "/_sandbox/orders", json={"items": {sku: 1}, "notify": False}
        ) as r:
            tiktok_ids.append((await r.json())["order"]["id"])
    shopify_orders = [
        shop_box.rest_order(880000 + n + int(uuid.uuid4().int % 10**9) * 100, {sku: 1}) for n in range(10)
    ]
    viewers = [viewer_token(app) for _ in range(30)]
    results = await asyncio.gather(
        *(buy(mapi, v, offer["id"]) for v in viewers),
        *(shopify_hook(mapi, o) for o in shopify_orders),
        *(tiktok_hook(mapi, i) for i in tiktok_ids),
    )
    liveshop_sold = sum(r for r in results[:30] if isinstance(r, int))
    replies = [r for r in results[30:] if isinstance(r, Reply)]
    assert all(r.status == 200 for r in replies), [r.body for r in replies if r.status != 200]
    platform_sold = sum(1 for r in replies for line in r.body["lines"] if line["status"] == "confirmed")
    flagged = sum(1 for r in replies for line in r.body["lines"] if line["status"] == "flagged")
    assert liveshop_sold + platform_sold == 5
    assert platform_sold + flagged == 15
    units = await orders_of(app, product["id"])
    assert sum(q for k, q in units.items() if k.endswith(":confirmed")) == 5
    assert units.get("shopify:flagged", 0) + units.get("tiktok:flagged", 0) == flagged
    state = (await mapi.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (0, 0, 5)
    assert await stock_of(app, product["id"]) == 0
    status = await mapi.call("GET", "/api/v1/mirror/status", token=mhost)
    assert status.status == 200
    reported = {(o["channel"], o["product_id"]) for o in status.body["flagged_orders"]}
    if flagged:
        assert any(p == product["id"] for _, p in reported)


async def test_meta_orders_are_polled_taken_and_acknowledged(
    mirror_node: tuple[web.Application, TestServer],
    mapi: Api,
    mhost: str,
    worker: Worker,
    calm: Sandboxes,
    http: aiohttp.ClientSession,
) -> None:
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=10)
    async with http.post(calm.urls["meta"] + "/_sandbox/orders", json={"items": {product["sku"]: 4}}) as r:
        placed = (await r.json())["order"]
    meta = calm.apps["meta"][STATE]

    async def acknowledged() -> bool:
        return meta.orders[placed["id"]]["order_status"]["state"] == "IN_PROGRESS"

    await eventually(acknowledged, within=15)
    assert await stock_of(app, product["id"]) == 6
    assert await orders_of(app, product["id"]) == {"meta:confirmed": 4}

    async def mirrored() -> bool:
        return (
            meta.stock.get(product["sku"]) == 6 and calm.apps["tiktok"][STATE].stock.get(product["sku"]) == 6
        )

    await eventually(mirrored, within=15)


async def test_twenty_shopify_orders_racing_for_seven_shelf_units_sell_seven(
    mirror_node: tuple[web.Application, TestServer], mapi: Api, mhost: str
) -> None:
    """Twenty Shopify orders race for 7 shelf units: 7 confirmed, 13 flagged, shelf at 0, never below."""
    app = mirror_node[0]
    product = await mapi.product(mhost, stock=7)
    orders = [
        shop_box.rest_order(990000 + n + int(uuid.uuid4().int % 10**9) * 100, {product["sku"]: 1})
        for n in range(20)
    ]
    replies = await asyncio.gather(*(shopify_hook(mapi, o) for o in orders))
    statuses = [r.body["lines"][0]["status"] for r in replies]
    assert statuses.count("confirmed") == 7 and statuses.count("flagged") == 13
    assert await stock_of(app, product["id"]) == 0
