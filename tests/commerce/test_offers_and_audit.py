"""Ending an offer (server/commerce/offers.py) happens once, the node's offer cache refuses what is not
an offer, and the audit route (server/commerce/audit.py) shows a host its own offers only."""

from __future__ import annotations

import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import DB
from server.commerce.offers import OFFERS, OfferCache, end_offer
from server.errors import DomainError
from tests.api_client import Api
from tests.conftest import new_host


async def test_ending_twice_returns_the_unsold_units_once(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=4, per_buyer_limit=4)
    buyer = await api.guest("e")
    hold = await api.reserve(buyer, offer["id"], 1, key=uuid.uuid4().hex)
    assert (await api.checkout(buyer, hold.body["id"])).status == 201
    first = await end_offer(app, offer["id"])
    second = await end_offer(app, offer["id"])
    assert (first.status, first.returned) == ("ended", 3)
    assert (second.status, second.returned, second.ended_at) == ("ended", 3, first.ended_at)
    assert (await api.call("GET", f"/api/v1/products/{product['id']}")).body["stock"] == 9


async def test_the_offer_cache_refuses_malformed_and_unknown_ids(
    node: tuple[web.Application, TestServer],
) -> None:
    cache = node[0][OFFERS]
    for bad in ("", "has space", "x" * 61, "of_" + uuid.uuid4().hex[:16]):
        with pytest.raises(DomainError) as caught:
            await cache.get(bad)
        assert caught.value.code == "not_found"
        assert cache.peek(bad) is None


async def test_a_node_keeps_its_most_recently_used_offers_and_reads_the_others_again(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    """The cache is bounded: past its limit the least recently used row goes, and a read of it comes
    from PostgreSQL, whole and current."""
    cache = OfferCache(node[0][DB], limit=2)
    broadcast = await api.broadcast(host)
    product = await api.product(host, stock=10)
    ids = [(await api.offer(host, broadcast["id"], product["id"], quantity=2))["id"] for _ in range(3)]
    first, second, third = [await cache.get(i) for i in ids]
    assert cache.peek(ids[0]) is None  # the least recently used of three, with room for two
    assert cache.peek(ids[1]) is second and cache.peek(ids[2]) is third
    await end_offer(node[0], ids[0])  # changed meanwhile, as by another node
    again = await cache.get(ids[0])
    assert again is not first and again.offer.status == "ended" and again.shop_id == first.shop_id
    assert cache.peek(ids[1]) is None  # used before the third, so it made the room


async def test_the_audit_covers_the_hosts_own_offers_with_their_order_counts(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    mine_b = await api.broadcast(host)
    product = await api.product(host, stock=10)
    mine = await api.offer(host, mine_b["id"], product["id"], quantity=3, per_buyer_limit=3)
    buyer = await api.guest("a")
    hold = await api.reserve(buyer, mine["id"], 2, key=uuid.uuid4().hex)
    assert (await api.checkout(buyer, hold.body["id"])).status == 201
    other = await new_host(app, api)
    theirs_b = await api.broadcast(other)
    theirs = await api.offer(other, theirs_b["id"], (await api.product(other, stock=5))["id"], quantity=2)

    report = await api.call("GET", "/api/v1/audit", token=host)
    assert report.status == 200 and report.body["ok"], report.body
    ids = [o["offer_id"] for o in report.body["offers"]]
    assert mine["id"] in ids and theirs["id"] not in ids
    row = next(o for o in report.body["offers"] if o["offer_id"] == mine["id"])
    assert (row["orders"], row["ordered_units"], row["sold_db"]) == (1, 2, 2)
    one = await api.call("GET", f"/api/v1/audit?broadcast_id={mine_b['id']}", token=host)
    assert [o["offer_id"] for o in one.body["offers"]] == [mine["id"]]
    denied = await api.call("GET", f"/api/v1/audit?offer_id={theirs['id']}", token=host)
    assert (denied.status, denied.code) == (404, "not_found")
    assert (await api.call("GET", "/api/v1/audit", token=buyer)).status == 403
