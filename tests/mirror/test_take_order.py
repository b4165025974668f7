"""Platform orders line by line (server/mirror/inbound.py): shelf first, then a live offer through the
same sale as a viewer's checkout, else flagged; replays change nothing; a failed write gives units back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from server.api.context import DB, INVENTORY
from server.errors import DomainError
from server.inventory.audit import run_audit
from server.inventory.models import Order, Product
from server.mirror.connectors.base import PlatformLine, PlatformOrder
from server.mirror.inbound import line_external_id, platform_buyer, take_order
from tests.api_client import Api
from tests.faults import FAILING_BUYER, refuse_orders_of_the_failing_buyer


def platform_order(*lines: tuple[str, int], buyer: dict[str, Any] | None = None) -> PlatformOrder:
    return PlatformOrder(
        "tiktok",
        str(uuid.uuid4().int % 10**15),
        [PlatformLine(sku, qty, 1200, "USD") for sku, qty in lines],
        buyer or {"name": "Platform buyer", "email": "p@shop.test"},
    )


async def _shelf(app: web.Application, sku: str) -> int:
    async with app[DB]() as session:
        product = (await session.execute(select(Product).where(Product.sku == sku))).scalar_one()
        return product.stock


async def _counters(app: web.Application, offer_id: str) -> tuple[int, int, int]:
    c = await app[INVENTORY].counters(offer_id)
    return c.available, c.held, c.sold


def test_a_line_id_is_the_order_and_sku_or_its_digest_when_too_long() -> None:
    order = PlatformOrder("shopify", "1001", [])
    assert line_external_id(order, "SKU-1") == "1001:SKU-1"
    long = PlatformOrder("shopify", "9" * 200, [])
    digest = line_external_id(long, "SKU-1")
    assert len(digest) == 64 and digest == line_external_id(long, "SKU-1")
    assert digest != line_external_id(long, "SKU-2")


def test_a_platform_buyer_is_one_per_platform_order_and_fits_the_column() -> None:
    assert platform_buyer("tiktok", "77") == "platform:tiktok:77"
    long = platform_buyer("shopify", "x" * 100)
    assert len(long) <= 40 and long.startswith("platform:shopify:")
    assert long == platform_buyer("shopify", "x" * 100) != platform_buyer("shopify", "y" * 100)


async def test_the_shelf_sells_first_and_a_replay_changes_nothing(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    product = await api.product(host, stock=5)
    order = platform_order((product["sku"], 3), ("NOT-OURS-" + uuid.uuid4().hex[:6], 1), (product["sku"], 0))
    first = await take_order(app[DB], app[INVENTORY], order)
    assert [(o.status, o.source) for o in first] == [("confirmed", "shelf"), ("unknown_sku", "")]
    assert await _shelf(app, product["sku"]) == 2
    again = await take_order(app[DB], app[INVENTORY], order)
    assert [(o.status, o.order_id) for o in again[:1]] == [("replay", first[0].order_id)]
    assert await _shelf(app, product["sku"]) == 2


async def test_a_short_shelf_takes_the_live_offer_and_nowhere_is_flagged(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    product = await api.product(host, stock=4)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=3, per_buyer_limit=3)
    # the shelf has 1 left: a line of 2 must come from the offer, as one sale of one hold
    [sold] = await take_order(app[DB], app[INVENTORY], platform_order((product["sku"], 2)))
    assert (sold.status, sold.source) == ("confirmed", "offer")
    assert await _shelf(app, product["sku"]) == 1
    assert await _counters(app, offer["id"]) == (1, 0, 2)
    async with app[DB]() as session:
        row = await session.get(Order, sold.order_id)
    assert row is not None and row.offer_id == offer["id"] and row.reservation_id
    assert row.buyer_id is not None and row.buyer_id.startswith("platform:tiktok:")
    # 2 more: the shelf has 1 and the offer 1, neither enough alone: flagged, nothing taken
    [flagged] = await take_order(app[DB], app[INVENTORY], platform_order((product["sku"], 2)))
    assert flagged.status == "flagged"
    assert await _shelf(app, product["sku"]) == 1
    assert await _counters(app, offer["id"]) == (1, 0, 2)
    report = await run_audit(app[DB], app[INVENTORY], [offer["id"]])
    assert report.ok, report.as_dict()


async def test_a_line_above_the_offers_per_buyer_limit_is_flagged_not_split(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    product = await api.product(host, stock=5)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=2)
    [line] = await take_order(app[DB], app[INVENTORY], platform_order((product["sku"], 3)))
    assert line.status == "flagged"
    assert await _counters(app, offer["id"]) == (5, 0, 0)


async def test_a_failed_order_write_gives_the_offer_units_back(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    await refuse_orders_of_the_failing_buyer(app[DB])
    product = await api.product(host, stock=2)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=2, per_buyer_limit=2)
    order = platform_order((product["sku"], 2), buyer={"name": FAILING_BUYER})
    with pytest.raises(DomainError) as caught:
        await take_order(app[DB], app[INVENTORY], order)
    assert caught.value.code == "service_unavailable"
    assert await _counters(app, offer["id"]) == (2, 0, 0)  # not held, not sold: claimable again
    report = await run_audit(app[DB], app[INVENTORY], [offer["id"]])
    assert report.ok, report.as_dict()
