"""Selling a hold (server/inventory/sale.py) is one path for a viewer's checkout and a platform's order:
Redis lost at its most delicate step, right after the hold is marked "checking out", never oversells."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select, text

from server.api.context import DB, INVENTORY
from server.db.outbox import OutboxEvent
from server.events import ORDER_CONFIRMED, OrderConfirmed
from server.inventory.audit import run_audit
from server.inventory.models import Order
from server.mirror.connectors.base import PlatformLine, PlatformOrder
from server.mirror.inbound import take_order
from tests.api_client import Api

QUANTITY = 6


async def _offer(api: Api, host: str, quantity: int = QUANTITY) -> tuple[dict[str, Any], str]:
    """An offer that took every unit of its product's shelf (so platform orders must claim from it),
    and the product's SKU."""
    product = await api.product(host, stock=quantity)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=quantity, per_buyer_limit=quantity)
    return offer, str(product["sku"])


async def _lock_waiters(app: web.Application) -> int:
    async with app[DB]() as session:
        query = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int((await session.execute(query)).scalar_one())


async def _until_done_or_blocked(app: web.Application, task: asyncio.Task[Any]) -> None:
    """Polls until the rebuild finished or PostgreSQL parks it behind a row lock (the checkout's)."""
    deadline = time.monotonic() + 30
    while not task.done() and await _lock_waiters(app) == 0:
        assert time.monotonic() < deadline, "the rebuild neither finished nor waited for a lock"
        await asyncio.sleep(0.01)


def flush_redis_after_marking(
    app: web.Application, monkeypatch: pytest.MonkeyPatch, offer_id: str
) -> list[asyncio.Task[Any]]:
    """Redis loses everything just after a checkout marked its hold, and a reader rebuilds the counters
    at that moment. Returns the rebuild task (awaited by the test) once it has been started."""
    inventory = app[INVENTORY]
    begin = inventory.begin_checkout
    rebuilds: list[asyncio.Task[Any]] = []

    async def begin_then_flush(hold_id: str, buyer: str) -> tuple[str, int]:
        answer = await begin(hold_id, buyer)
        if answer[0] == "ok" and not rebuilds:
            await inventory.redis.flushall()
            rebuilds.append(asyncio.ensure_future(inventory.counters(offer_id)))
            await _until_done_or_blocked(app, rebuilds[0])
        return answer

    monkeypatch.setattr(inventory, "begin_checkout", begin_then_flush)
    return rebuilds


async def _sold_in_db(app: web.Application, offer_id: str) -> int:
    async with app[DB]() as session:
        total = await session.execute(
            select(func.coalesce(func.sum(Order.quantity), 0)).where(
                Order.offer_id == offer_id, Order.status == "confirmed"
            )
        )
        return int(total.scalar_one())


async def _sell_the_rest(api: Api, offer_id: str) -> None:
    """Viewers claim and pay for whatever the counters call available (one unit each)."""
    for _ in range(QUANTITY + 2):
        token = await api.guest("rest")
        hold = await api.reserve(token, offer_id, key=uuid.uuid4().hex)
        if hold.status != 201:
            assert hold.code == "sold_out", hold.body
            return
        order = await api.checkout(token, hold.body["id"], key=uuid.uuid4().hex)
        assert order.status == 201, order.body


async def _assert_nothing_oversold(app: web.Application, api: Api, offer_id: str) -> None:
    report = await run_audit(app[DB], app[INVENTORY], [offer_id])
    assert report.ok, report.as_dict()
    await _sell_the_rest(api, offer_id)
    counters = await app[INVENTORY].counters(offer_id)
    assert counters.available + counters.held + counters.sold == QUANTITY
    assert counters.sold == await _sold_in_db(app, offer_id) == QUANTITY
    report = await run_audit(app[DB], app[INVENTORY], [offer_id])
    assert report.ok, report.as_dict()


def platform_order(sku: str, quantity: int) -> PlatformOrder:
    line = PlatformLine(sku, quantity, 1500, "USD")
    return PlatformOrder("shopify", str(uuid.uuid4().int % 10**12), [line], {"email": "p@shop.test"})


async def test_platform_order_with_redis_flushed_after_its_hold_is_marked_oversells_nothing(
    api: Api, host: str, node: tuple[web.Application, TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = node[0]
    offer, sku = await _offer(api, host)
    rebuilds = flush_redis_after_marking(app, monkeypatch, offer["id"])

    [outcome] = await take_order(app[DB], app[INVENTORY], platform_order(sku, 2))

    assert (outcome.status, outcome.source) == ("confirmed", "offer")
    await rebuilds[0]  # it waited for the order's commit, so it counted the order as sold
    counters = await app[INVENTORY].counters(offer["id"])
    assert (counters.available, counters.held, counters.sold) == (QUANTITY - 2, 0, 2)
    monkeypatch.undo()
    await _assert_nothing_oversold(app, api, offer["id"])


async def test_viewer_checkout_with_redis_flushed_after_its_hold_is_marked_oversells_nothing(
    api: Api, host: str, node: tuple[web.Application, TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = node[0]
    offer, _ = await _offer(api, host)
    buyer = await api.guest("flush")
    hold = await api.reserve(buyer, offer["id"], 2, key=uuid.uuid4().hex)
    assert hold.status == 201, hold.body
    rebuilds = flush_redis_after_marking(app, monkeypatch, offer["id"])

    order = await api.checkout(buyer, hold.body["id"], key=uuid.uuid4().hex)

    assert order.status == 201, order.body
    await rebuilds[0]
    counters = await app[INVENTORY].counters(offer["id"])
    assert (counters.available, counters.held, counters.sold) == (QUANTITY - 2, 0, 2)
    monkeypatch.undo()
    await _assert_nothing_oversold(app, api, offer["id"])


async def test_platform_hold_lost_before_its_checkout_is_claimed_again_and_sold_once(
    api: Api, host: str, node: tuple[web.Application, TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = node[0]
    inventory = app[INVENTORY]
    offer, sku = await _offer(api, host)
    reserve = inventory.reserve
    flushed: list[str] = []

    async def reserve_then_flush(*args: Any, **kwargs: Any) -> Any:
        claim = await reserve(*args, **kwargs)
        if not flushed:
            flushed.append(claim.hold_id)
            await inventory.redis.flushall()
        return claim

    monkeypatch.setattr(inventory, "reserve", reserve_then_flush)
    [outcome] = await take_order(app[DB], inventory, platform_order(sku, 3))
    monkeypatch.undo()

    assert (outcome.status, outcome.source) == ("confirmed", "offer")
    async with app[DB]() as session:
        row = await session.get(Order, outcome.order_id)
    assert row is not None and row.reservation_id != flushed[0]  # a second claim, after the rebuild
    counters = await inventory.counters(offer["id"])
    assert (counters.available, counters.held, counters.sold) == (QUANTITY - 3, 0, 3)
    await _assert_nothing_oversold(app, api, offer["id"])


async def _viewer_sale(api: Api, offer: dict[str, Any]) -> str:
    buyer = await api.guest("payload")
    hold = await api.reserve(buyer, offer["id"], 1, key=uuid.uuid4().hex)
    order = await api.checkout(buyer, hold.body["id"], key=uuid.uuid4().hex)
    assert order.status == 201, order.body
    return str(order.body["id"])


async def test_viewer_and_platform_sales_record_the_same_order_confirmed_payload(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    offer, sku = await _offer(api, host)
    viewer_order = await _viewer_sale(api, offer)
    [platform] = await take_order(app[DB], app[INVENTORY], platform_order(sku, 1))
    assert platform.source == "offer"
    async with app[DB]() as session:
        rows = (
            (await session.execute(select(OutboxEvent).where(OutboxEvent.topic == ORDER_CONFIRMED)))
            .scalars()
            .all()
        )
    mine = (viewer_order, platform.order_id)
    payloads = {str(r.payload["id"]): r.payload for r in rows if r.payload["id"] in mine}
    assert set(payloads) == {viewer_order, platform.order_id}
    for payload in payloads.values():
        assert set(payload) == set(OrderConfirmed.__annotations__)
        assert (payload["sku"], payload["offer_id"], payload["broadcast_id"]) == (
            sku,
            offer["id"],
            offer["broadcast_id"],
        )
        assert payload["items"][0]["sku"] == sku
    assert payloads[viewer_order]["channel"] == "liveshop"
    assert payloads[platform.order_id]["channel"] == "shopify"
    assert payloads[platform.order_id]["external_id"]
