"""Idempotency-Key: a retry never makes a second hold or order; another body with the key is refused."""

from __future__ import annotations

import asyncio

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
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"]) == (3, 2)


async def test_checkout_retried_with_the_same_key_returns_the_first_order(api: Api, host: str) -> None:
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=3)
    viewer = await api.guest()
    hold = (await api.reserve(viewer, offer["id"], 1)).body["id"]

    orders = await asyncio.gather(*(api.checkout(viewer, hold, key="pay-1") for _ in range(5)))
    assert {r.status for r in orders} == {201}
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
    assert (state["available"], state["held"], state["sold"]) == (4, 0, 1)
