"""Faults on the checkout path: a failed database write loses no unit; a crash mid-checkout is settled
from PostgreSQL; a hold whose buyer vanished comes back at expiry."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import DB, INVENTORY, SETTINGS
from server.clock import ShiftedClock
from server.commerce.sweeper import sweep_once
from server.db.base import new_id
from server.inventory.keys import offer_keys
from server.inventory.models import Order, Product
from tests.api_client import Api
from tests.conftest import new_host
from tests.faults import FAILING_BUYER, refuse_orders_of_the_failing_buyer


async def test_a_failed_order_write_keeps_the_hold_and_the_retry_sells_it(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app, _ = node
    await refuse_orders_of_the_failing_buyer(app[DB])
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=3)
    viewer = await api.guest()
    hold = (await api.reserve(viewer, offer["id"])).body["id"]

    failed = await api.call(
        "POST",
        "/api/v1/orders",
        token=viewer,
        headers={"Idempotency-Key": "k"},
        json={"reservation_id": hold, "buyer": {"name": FAILING_BUYER, "email": "a@b.co", "address": "x"}},
    )
    assert (failed.status, failed.code) == (503, "service_unavailable")
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (2, 1, 0)  # the unit is still held
    assert (await api.call("GET", f"/api/v1/reservations/{hold}", token=viewer)).body["status"] == "held"

    order = await api.checkout(viewer, hold, key="k2")
    assert order.status == 201
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (2, 0, 1)


async def test_checkouts_stuck_by_a_crash_are_settled_from_postgres(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app, _ = node
    inventory = app[INVENTORY]
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=4)
    a, b = await api.guest("a"), await api.guest("b")
    hold_a = (await api.reserve(a, offer["id"])).body["id"]
    hold_b = (await api.reserve(b, offer["id"])).body["id"]
    me_a = (await api.call("GET", "/api/v1/auth/me", token=a)).body["user"]["id"]
    me_b = (await api.call("GET", "/api/v1/auth/me", token=b)).body["user"]["id"]
    # Two processes die mid-checkout: A after its order committed, B before.
    assert (await inventory.begin_checkout(hold_a, me_a))[0] == "ok"
    assert (await inventory.begin_checkout(hold_b, me_b))[0] == "ok"
    async with app[DB]() as session, session.begin():
        session.add(
            Order(
                id=new_id("or"),
                shop_id=(await session.get(Product, product["id"])).shop_id,
                offer_id=offer["id"],
                product_id=product["id"],
                reservation_id=hold_a,
                buyer_id=me_a,
                buyer={},
                quantity=1,
                unit_price=999,
                total=999,
                currency="USD",
            )
        )
    # Their deadlines pass; the sweeper asks PostgreSQL and settles both.
    await inventory.redis.zadd(offer_keys(offer["id"])[2], {hold_a: 1, hold_b: 1})
    await sweep_once(app)
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (3, 0, 1)


async def test_a_hold_whose_buyer_vanished_returns_at_expiry(
    own_clock_node: tuple[web.Application, Api, ShiftedClock],
) -> None:
    app, api, clock = own_clock_node
    host = await new_host(app, api)
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=1)
    gone = await api.guest("gone")
    hold = await api.reserve(gone, offer["id"], key=uuid.uuid4().hex)
    assert hold.status == 201
    other = await api.guest("other")
    assert (await api.reserve(other, offer["id"])).code == "sold_out"
    clock.advance(app[SETTINGS].hold_seconds - 30)
    await sweep_once(app)
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (0, 1, 0)  # not yet
    clock.advance(31)  # nobody touches the offer: only the sweeper can return the unit
    await sweep_once(app)
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (1, 0, 0)
    assert (await api.reserve(other, offer["id"])).status == 201  # the sold-out flag was dropped
    late = await api.checkout(gone, hold.body["id"])
    assert (late.status, late.code) == (410, "reservation_expired")


async def test_ending_an_offer_returns_unsold_and_held_units_to_the_product(api: Api, host: str) -> None:
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=6, per_buyer_limit=3)
    viewer = await api.guest()
    paid = (await api.reserve(viewer, offer["id"], 2)).body["id"]
    assert (await api.checkout(viewer, paid)).status == 201
    await api.reserve(viewer, offer["id"], 1)  # held, never paid
    assert (await api.call("GET", f"/api/v1/products/{product['id']}")).body["stock"] == 4
    ended = await api.call("POST", f"/api/v1/offers/{offer['id']}/end", token=host)
    assert ended.status == 200 and ended.body["status"] == "ended"
    assert (ended.body["available"], ended.body["held"], ended.body["sold"]) == (0, 0, 2)
    assert (await api.call("GET", f"/api/v1/products/{product['id']}")).body["stock"] == 8
    late = await api.reserve(viewer, offer["id"])
    assert (late.status, late.code) == (410, "offer_ended")


async def test_an_end_whose_commit_was_lost_is_finished_by_the_sweeper(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app, _ = node
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=4)
    viewer = await api.guest()
    hold = (await api.reserve(viewer, offer["id"])).body["id"]
    assert (await api.checkout(viewer, hold)).status == 201
    # The node ended the offer in Redis and then lost its PostgreSQL transaction.
    await app[INVENTORY].finish(offer["id"], 4, 1)
    await sweep_once(app, resync=True)  # the sweeper's periodic comparison with PostgreSQL
    seen = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (seen["status"], seen["sold"]) == ("ended", 1)
    assert (await api.call("GET", f"/api/v1/products/{product['id']}")).body["stock"] == 9
