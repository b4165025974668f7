"""After a failed order write PostgreSQL decides a marked hold's fate (server/inventory/sale.py), and
ORDER_CONFIRMED's payload is built one way for every channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from server.api.context import DB, INVENTORY
from server.db.base import new_id
from server.events import OrderConfirmed
from server.inventory.models import Order, Product
from server.inventory.sale import order_confirmed, settle_from_database
from tests.api_client import Api


async def _marked_hold(api: Api, host: str, app: web.Application) -> tuple[str, str, str, str]:
    """(offer id, product id, buyer id, hold id) with the hold marked checking out."""
    product = await api.product(host, stock=5)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=2)
    token = await api.guest("settle")
    buyer = (await api.call("GET", "/api/v1/auth/me", token=token)).body["user"]["id"]
    hold = (await api.reserve(token, offer["id"], key=uuid.uuid4().hex)).body["id"]
    assert (await app[INVENTORY].begin_checkout(hold, buyer))[0] == "ok"
    return offer["id"], product["id"], buyer, hold


async def test_no_order_in_postgres_turns_the_hold_back_into_an_ordinary_hold(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    offer_id, _, buyer, hold = await _marked_hold(api, host, app)
    assert await settle_from_database(app[DB], app[INVENTORY], hold) == "abort"
    held = await app[INVENTORY].hold(hold)
    assert held is not None and held[0] == buyer and held[3] == "h"
    counters = await app[INVENTORY].counters(offer_id)
    assert (counters.available, counters.held, counters.sold) == (1, 1, 0)


async def test_an_order_in_postgres_settles_the_hold_as_sold(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    offer_id, product_id, buyer, hold = await _marked_hold(api, host, app)
    async with app[DB]() as session, session.begin():
        session.add(
            Order(
                id=new_id("or"),
                shop_id=(await session.get(Product, product_id)).shop_id,
                offer_id=offer_id,
                product_id=product_id,
                reservation_id=hold,
                buyer_id=buyer,
                buyer={},
                quantity=1,
                unit_price=999,
                total=999,
                currency="USD",
            )
        )
    assert await settle_from_database(app[DB], app[INVENTORY], hold) == "sold"
    assert await app[INVENTORY].hold(hold) is None
    counters = await app[INVENTORY].counters(offer_id)
    assert (counters.available, counters.held, counters.sold) == (1, 0, 1)


async def test_postgres_unreachable_leaves_the_hold_checking_out_for_the_sweeper(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    _, _, _, hold = await _marked_hold(api, host, app)
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none", pool_pre_ping=False)
    try:
        assert await settle_from_database(async_sessionmaker(engine), app[INVENTORY], hold) is None
    finally:
        await engine.dispose()
    held = await app[INVENTORY].hold(hold)
    assert held is not None and held[3] == "c"


def test_the_order_confirmed_payload_names_every_field_for_any_channel() -> None:
    product = Product(id="pr_1", sku="SKU-1", title="Mug", price=900, currency="EUR", stock=0)
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    shelf = Order(
        id="or_1",
        channel="shopify",
        external_id="55:SKU-1",
        product_id="pr_1",
        buyer={"email": "p@shop.test"},
        quantity=2,
        unit_price=800,
        total=1600,
        currency="EUR",
        status="confirmed",
        created_at=created,
    )
    payload = order_confirmed(shelf, product, None)
    assert set(payload) == set(OrderConfirmed.__annotations__)
    assert payload["items"] == [
        {"product_id": "pr_1", "sku": "SKU-1", "title": "Mug", "quantity": 2, "unit_price": 800}
    ]
    assert (payload["offer_id"], payload["reservation_id"], payload["broadcast_id"]) == (None, None, None)
    assert (payload["channel"], payload["external_id"], payload["total"]) == ("shopify", "55:SKU-1", 1600)
    assert payload["created_at"] == created.isoformat()
    payload["buyer"]["email"] = "changed"
    assert shelf.buyer == {"email": "p@shop.test"}  # the payload holds a copy
