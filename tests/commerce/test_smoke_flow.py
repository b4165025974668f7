"""The buying path end to end over real HTTP, against real Redis and PostgreSQL."""

from __future__ import annotations

from tests.api_client import Api


async def test_reserve_then_checkout_sells_the_units(api: Api, host: str) -> None:
    product = await api.product(host, stock=50)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=2)
    viewer = await api.guest("ann")

    hold = await api.reserve(viewer, offer["id"], 2, key="k1")
    assert hold.status == 201, hold.body
    order = await api.checkout(viewer, hold.body["id"], key="o1")
    assert order.status == 201, order.body
    assert order.body["status"] == "confirmed"
    assert order.body["total"] == 2 * 999

    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (3, 0, 2)
    seen = await api.call("GET", f"/api/v1/orders/{order.body['id']}", token=viewer)
    assert seen.status == 200 and seen.body["id"] == order.body["id"]


async def test_host_edits_only_the_stock_of_a_product(api: Api, host: str) -> None:
    product = await api.product(host, stock=50)
    r = await api.call("PATCH", f"/api/v1/products/{product['id']}", token=host, json={"stock": 7})
    assert r.status == 200, r.body
    assert (r.body["stock"], r.body["currency"], r.body["title"]) == (7, "USD", product["title"])
