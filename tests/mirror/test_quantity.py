"""What a platform is told it can sell (server/mirror/quantity.py over server/inventory/stock.py):
shelf stock plus what the product's live offers can still sell, never what holds or sales took."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import DB, INVENTORY
from server.inventory.stock import offers_available
from server.mirror.quantity import sellable
from tests.api_client import Api


async def test_sellable_is_shelf_plus_unclaimed_offer_units(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    product = await api.product(host, stock=10)
    other = await api.product(host, stock=2)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=6, per_buyer_limit=3)
    buyer = await api.guest("q")
    held = await api.reserve(buyer, offer["id"], 1, key=uuid.uuid4().hex)
    paid = await api.reserve(buyer, offer["id"], 2, key=uuid.uuid4().hex)
    assert (await api.checkout(buyer, paid.body["id"])).status == 201
    assert held.status == 201

    async with app[DB]() as session:
        figures = await sellable(session, app[INVENTORY], [product["sku"], other["sku"], "NOT-A-SKU"])
        in_offers = await offers_available(session, app[INVENTORY], [product["id"], other["id"]])
    # shelf 10 - 6 carved out = 4, plus the offer's 6 - 1 held - 2 sold = 3
    assert figures == {product["sku"]: (product["id"], 7), other["sku"]: (other["id"], 2)}
    assert in_offers == {product["id"]: 3}


async def test_an_ended_offer_gives_its_unsold_units_back_to_the_shelf_figure(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    product = await api.product(host, stock=5)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=5)
    buyer = await api.guest("q2")
    hold = await api.reserve(buyer, offer["id"], 2, key=uuid.uuid4().hex)
    assert (await api.checkout(buyer, hold.body["id"])).status == 201
    assert (await api.call("POST", f"/api/v1/offers/{offer['id']}/end", token=host)).status == 200
    async with app[DB]() as session:
        assert await sellable(session, app[INVENTORY], [product["sku"]]) == {
            product["sku"]: (product["id"], 3)
        }
        assert await offers_available(session, app[INVENTORY], [product["id"]]) == {}
