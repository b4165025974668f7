"""Redis is a cache of truth: losing it mid-sale rebuilds the counters from PostgreSQL, never oversells."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis
from sqlalchemy import func, select

from server.api.context import DB, INVENTORY
from server.commerce.sweeper import sweep_once
from server.inventory.audit import run_audit
from server.inventory.models import Order
from tests.api_client import Api
from tests.services import RedisServer


async def _sold_in_db(app: web.Application, offer_id: str) -> int:
    async with app[DB]() as session:
        total = await session.execute(
            select(func.coalesce(func.sum(Order.quantity), 0)).where(Order.offer_id == offer_id)
        )
        return int(total.scalar_one())


async def _sale(api: Api, host: str, quantity: int) -> tuple[dict, list[str]]:
    product = await api.product(host, stock=quantity * 2)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=quantity, per_buyer_limit=1)
    buyers = [await api.guest(f"b{i}") for i in range(quantity + 10)]
    return offer, buyers


async def test_redis_flushed_mid_sale_rebuilds_from_postgres_and_never_sells_a_unit_twice(
    api: Api, host: str, node: tuple[web.Application, TestServer], redis_server: RedisServer
) -> None:
    app, _ = node
    offer, buyers = await _sale(api, host, quantity=20)
    # 8 buyers pay, 4 more hold, then Redis loses everything.
    paid_orders = []
    for token in buyers[:8]:
        hold = await api.reserve(token, offer["id"], key=uuid.uuid4().hex)
        order = await api.checkout(token, hold.body["id"], key=uuid.uuid4().hex)
        assert order.status == 201
        paid_orders.append(order.body["id"])
    stale_holds = [(t, (await api.reserve(t, offer["id"])).body["id"]) for t in buyers[8:12]]
    raw = Redis.from_url(redis_server.url)
    await raw.flushall()
    await raw.aclose()

    # The sale goes on: the first claim finds the counters gone and rebuilds them from the orders.
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (12, 0, 8)
    # Holds Redis lost are expired, clearly; nobody can pay for them.
    for token, hold_id in stale_holds:
        r = await api.checkout(token, hold_id)
        assert (r.status, r.code) == (410, "reservation_expired")
    # Buyers who already paid cannot buy again (per-buyer limit rebuilt from their orders).
    again = await api.reserve(buyers[0], offer["id"])
    assert (again.status, again.code) == (409, "limit_exceeded")

    # Everyone else rushes the rest, paying at once.
    async def buy(token: str) -> int:
        hold = await api.reserve(token, offer["id"], key=uuid.uuid4().hex)
        if hold.status != 201:
            return 0
        order = await api.checkout(token, hold.body["id"], key=uuid.uuid4().hex)
        assert order.status == 201, order.body
        return 1

    bought = sum(await asyncio.gather(*(buy(t) for t in buyers[8:])))
    assert bought == 12
    assert await _sold_in_db(app, offer["id"]) == 20
    for order_id in paid_orders:  # every confirmed order survived
        assert (await api.call("GET", f"/api/v1/orders/{order_id}", token=host)).status == 200
    report = await run_audit(app[DB], app[INVENTORY], [offer["id"]])
    assert report.ok, report.as_dict()


async def test_redis_restarted_empty_during_checkouts_keeps_every_confirmed_order(
    api: Api, host: str, node: tuple[web.Application, TestServer], redis_server: RedisServer
) -> None:
    app, _ = node
    offer, buyers = await _sale(api, host, quantity=30)
    holds = [(t, (await api.reserve(t, offer["id"])).body["id"]) for t in buyers[:30]]

    async def pay(token: str, hold_id: str) -> tuple[int, str | None]:
        r = await api.checkout(token, hold_id, key=uuid.uuid4().hex)
        return r.status, r.code

    checkouts = asyncio.gather(*(pay(t, h) for t, h in holds))
    while await _sold_in_db(app, offer["id"]) == 0:  # Redis goes once the checkouts are under way
        assert not checkouts.done()
        await asyncio.sleep(0.005)
    await asyncio.to_thread(redis_server.restart)
    results = await checkouts
    confirmed = sum(1 for status, _ in results if status == 201)
    assert all(status in (201, 410, 503) for status, _ in results), results
    # Whatever the timing, PostgreSQL's orders are the sold count and the counters agree after the sweep.
    sold_db = await _sold_in_db(app, offer["id"])
    assert sold_db == confirmed
    await sweep_once(app, resync=True)
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert state["available"] + state["held"] + state["sold"] == 30
    assert state["sold"] == sold_db
    report = await run_audit(app[DB], app[INVENTORY], [offer["id"]])
    assert report.ok, report.as_dict()
