"""Replay offers: after the show the host keeps a product on sale from the replay, at the shelf price
(or the show's price), sold through the same claim and checkout path as any offer."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.api_client import Api
from tests.conftest import new_host


async def test_a_replay_offer_sells_at_the_shelf_price_after_the_end_and_only_then(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    product = await api.product(host, stock=10, price=2500)
    broadcast = await api.broadcast(host, "Replay sale")
    path = f"/api/v1/broadcasts/{broadcast['id']}/replay-offers"
    body = {"product_id": product["id"], "quantity": 3}
    early = await api.call("POST", path, token=host, json=body)
    assert (early.status, early.body["code"]) == (409, "conflict")  # the show is on: a flash offer
    assert (await api.call("POST", f"/api/v1/broadcasts/{broadcast['id']}/end", token=host)).status == 200
    other_shop = await new_host(node[0], api)
    assert (await api.call("POST", path, token=other_shop, json=body)).status == 404
    assert (await api.call("POST", path, token=host, json={**body, "quantity": 0})).status == 422
    too_many = await api.call("POST", path, token=host, json={**body, "quantity": 11})
    assert (too_many.status, too_many.body["code"]) == (409, "insufficient_stock")

    created = await api.call("POST", path, token=host, json=body)
    assert created.status == 201, created.body
    offer = created.body
    assert offer["price"] == 2500 and offer["status"] == "active" and offer["quantity"] == 3
    kept = await api.call("POST", path, token=host, json={**body, "quantity": 1, "price": 1800})
    assert kept.status == 201 and kept.body["price"] == 1800  # the show's deal, kept open

    # the replay page finds it in the broadcast's offers and buys through the usual path
    snapshot = await api.call("GET", f"/api/v1/broadcasts/{broadcast['id']}")
    assert {o["id"] for o in snapshot.body["offers"] if o["status"] == "active"} == {
        offer["id"],
        kept.body["id"],
    }
    viewer = await api.guest("replay-buyer")
    hold = await api.reserve(viewer, offer["id"])
    assert hold.status == 201, hold.body
    order = await api.checkout(viewer, hold.body["id"])
    assert order.status == 201, order.body
    assert order.body["total"] == 2500
    shelf = await api.call("GET", f"/api/v1/products/{product['id']}")
    assert shelf.body["stock"] == 10 - 3 - 1
    ended = await api.call("POST", f"/api/v1/offers/{offer['id']}/end", token=host)
    assert ended.status == 200
    assert (await api.call("GET", f"/api/v1/products/{product['id']}")).body["stock"] == 10 - 1 - 1
