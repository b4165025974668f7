"""`offer.sold_out` is said when the last unit is claimed, never when an offer ends with units unsold."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from server.api.context import DB
from server.db.outbox import OutboxEvent
from server.events import OFFER_SOLD_OUT
from tests.api_client import Api


async def _sold_out_rows(app: web.Application, offer_id: str) -> int:
    async with app[DB]() as session:
        query = select(func.count()).where(OutboxEvent.topic == OFFER_SOLD_OUT, OutboxEvent.key == offer_id)
        return int((await session.execute(query)).scalar_one())


async def test_an_offer_ended_with_units_left_is_not_announced_sold_out(
    node: tuple[web.Application, TestServer], api: Api, host: str
) -> None:
    app = node[0]
    product = await api.product(host, stock=10)
    b = await api.broadcast(host)
    unsold = await api.offer(host, b["id"], product["id"], 3)
    buyer = await api.guest()
    assert (await api.reserve(buyer, unsold["id"], key="k-unsold")).status == 201  # 1 held, 2 left
    r = await api.call("POST", f"/api/v1/offers/{unsold['id']}/end", token=host)
    assert r.status == 200, r.body
    sold_out = await api.offer(host, b["id"], product["id"], 1)
    assert (await api.reserve(buyer, sold_out["id"], key="k-last")).status == 201  # the last unit
    for _ in range(100):  # the hook writes off the claim path
        if await _sold_out_rows(app, sold_out["id"]):
            break
        await asyncio.sleep(0.05)
    assert await _sold_out_rows(app, sold_out["id"]) == 1
    assert await _sold_out_rows(app, unsold["id"]) == 0
