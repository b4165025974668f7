"""Idempotency-Key: a retry never makes a second hold or order; another body with the key is refused."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from server.api.context import ENGINE
from tests.api_client import Api


async def test_same_key_twice_gives_one_hold_and_another_body_gives_422(api: Api, host: str) -> None:
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=3)
    viewer = await api.guest()

    first, second = await asyncio.gather(
        api.reserve(viewer, offer["id"], 2, key="same"), api.reserve(viewer, offer["id"], 2, key="same")
    )
    assert first.status == second.status == 201
    assert first.body["id"] == second.body["id"]
    other = await api.reserve(viewer, offer["id"], 1, key="same")
    assert (other.status, other.code) == (422, "idempotency_key_reused")
    # key reuse is judged before the per-buyer limit, even for a quantity over the limit
    over = await api.reserve(viewer, offer["id"], 4, key="same")
    assert (over.status, over.code) == (422, "idempotency_key_reused")
    fresh = await api.reserve(viewer, offer["id"], 4, key="another")
    assert (fresh.status, fresh.code) == (409, "limit_exceeded")
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"]) == (3, 2)


ROUNDS, TWINS = 30, 6


async def test_checkout_retried_with_the_same_key_returns_the_first_order(api: Api, host: str) -> None:
    product = await api.product(host, stock=ROUNDS + 10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=ROUNDS + 5, per_buyer_limit=3)
    # Many rounds: the race between twins is narrow, so one round proves little.
    for round_no in range(ROUNDS):
        viewer = await api.guest(f"buyer{round_no}")
        hold = (await api.reserve(viewer, offer["id"], 1)).body["id"]
        orders = await asyncio.gather(*(api.checkout(viewer, hold, key="pay-1") for _ in range(TWINS)))
        assert [r.status for r in orders] == [201] * TWINS, (round_no, [r.body for r in orders])
        assert len({r.body["id"] for r in orders}) == 1
    changed = await api.call(
        "POST",
        "/api/v1/orders",
        token=viewer,
        headers={"Idempotency-Key": "pay-1"},
        json={
            "reservation_id": hold,
            "buyer": {"name": "Someone Else", "email": "x@example.com", "address": "2"},
        },
    )
    assert (changed.status, changed.code) == (422, "idempotency_key_reused")
    again = await api.checkout(viewer, hold, key="pay-2")  # the hold is used: a clear conflict
    assert (again.status, again.code) == (409, "conflict")
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (5, 0, ROUNDS)


async def _lock_waiters(app: web.Application) -> int:
    async with app[ENGINE].connect() as conn:
        found = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one())


async def test_a_retry_waits_for_a_slow_twin_however_long_its_order_write_takes(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app, _ = node
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=3)
    viewer = await api.guest()
    hold = (await api.reserve(viewer, offer["id"], 1)).body["id"]
    # The first twin to write the order stalls on a lock of the orders table; the others must queue
    # behind it however long that lasts, not give up with 409.
    async with app[ENGINE].connect() as blocker:
        await blocker.execute(text("LOCK TABLE orders IN EXCLUSIVE MODE"))
        calls = [asyncio.ensure_future(api.checkout(viewer, hold, key="slow")) for _ in range(TWINS)]
        deadline = time.monotonic() + 30
        # every twin is either waiting on a lock (the writer on the table, the rest on the writer) or has
        # answered: without the queue, the others answer 409 while the writer waits
        while await _lock_waiters(app) + sum(c.done() for c in calls) < TWINS:
            assert time.monotonic() < deadline, "the twins neither queued nor answered"
            await asyncio.sleep(0.05)
        await blocker.rollback()
    orders = await asyncio.gather(*calls)
    assert [r.status for r in orders] == [201] * TWINS, [r.body for r in orders]
    assert len({r.body["id"] for r in orders}) == 1
