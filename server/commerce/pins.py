"""Up to three pinned products per broadcast: pin one more, unpin one, unpin all.

The pins are rows (`broadcast_pins`, the newest with the highest `seq`); `broadcasts.pinned_product_id`
keeps the most recent pin, the v1 `pinned` field that older clients and readers know. Every change is
one transaction under the broadcast's row lock, so two hosts' tabs pinning at once never make four.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.auth import require_host
from server.api.context import DB, EVENTS
from server.api.openapi import Router
from server.api.validation import json_response, parse_body, path_id
from server.broadcasts import Broadcast
from server.commerce.models import BroadcastPin
from server.commerce.offers import owned_broadcast
from server.commerce.schemas import PinIn
from server.commerce.views import product_view
from server.errors import DomainError
from server.events import PINNED
from server.inventory.models import Product

MAX_PINS = 3
router = Router()


async def pinned_products(session: AsyncSession, broadcast_id: str) -> list[Product]:
    """The broadcast's pinned products, the most recent pin first."""
    rows = await session.execute(
        select(Product)
        .join(BroadcastPin, BroadcastPin.product_id == Product.id)
        .where(BroadcastPin.broadcast_id == broadcast_id)
        .order_by(BroadcastPin.seq.desc())
    )
    return list(rows.scalars().all())


async def _changed(
    request: web.Request, b: Broadcast, pins: list[Product], action: str, product_id: str | None
) -> web.Response:
    """Tell the room (and the replay's timeline) and answer with both shapes of the pin state."""
    views = [product_view(p) for p in pins]
    newest = views[0] if views else None
    await request.app[EVENTS].publish(
        PINNED,
        {
            "broadcast_id": b.id,
            "product": newest,
            "pins": views,
            "change": {"action": action, "product_id": product_id},
        },
    )
    return json_response({"broadcast_id": b.id, "pinned": newest, "pins": views})


async def _locked(session: AsyncSession, request: web.Request) -> Broadcast:
    host = require_host(request)
    b = await owned_broadcast(session, path_id(request), host, lock=True)
    if b.status == "ended":
        raise DomainError("broadcast_ended")
    return b


@router.put(
    "/api/v1/broadcasts/{id}/pin",
    body=PinIn,
    auth="host",
    tag="broadcasts",
    summary="Pin a product in the room: the three most recent pins show (a fourth unpins the oldest; "
    "the same one again changes nothing)",
    errors=("not_found", "broadcast_ended"),
)
async def pin(request: web.Request) -> web.Response:
    require_host(request)
    body = await parse_body(request, PinIn)
    async with request.app[DB]() as session, session.begin():
        b = await _locked(session, request)
        product = await session.get(Product, body.product_id)
        if product is None or product.shop_id != b.shop_id:
            raise DomainError("not_found", "product not found", field="product_id")
        pins = await pinned_products(session, b.id)
        if any(p.id == product.id for p in pins):
            return json_response(_state(b, pins))
        # v1 clients pin one product after another and expect each PUT to succeed: the oldest makes room
        for oldest in pins[MAX_PINS - 1 :]:
            await session.execute(
                delete(BroadcastPin).where(
                    BroadcastPin.broadcast_id == b.id, BroadcastPin.product_id == oldest.id
                )
            )
        pins = pins[: MAX_PINS - 1]
        last = (
            await session.execute(select(func.max(BroadcastPin.seq)).where(BroadcastPin.broadcast_id == b.id))
        ).scalar()
        session.add(BroadcastPin(broadcast_id=b.id, product_id=product.id, seq=(last or 0) + 1))
        b.pinned_product_id = product.id
        pins.insert(0, product)
    return await _changed(request, b, pins, "pin", product.id)


@router.delete(
    "/api/v1/broadcasts/{id}/pins/{product_id}",
    auth="host",
    tag="broadcasts",
    summary="Unpin one product (the others stay)",
    errors=("not_found", "broadcast_ended"),
)
async def unpin_one(request: web.Request) -> web.Response:
    product_id = path_id(request, "product_id")
    async with request.app[DB]() as session, session.begin():
        b = await _locked(session, request)
        gone = await session.execute(
            delete(BroadcastPin).where(
                BroadcastPin.broadcast_id == b.id, BroadcastPin.product_id == product_id
            )
        )
        pins = await pinned_products(session, b.id)
        b.pinned_product_id = pins[0].id if pins else None
    if gone.rowcount == 0:  # type: ignore[attr-defined]  # not pinned: nothing changed, nobody is told
        return json_response(_state(b, pins))
    return await _changed(request, b, pins, "unpin", product_id)


@router.delete(
    "/api/v1/broadcasts/{id}/pin",
    auth="host",
    tag="broadcasts",
    summary="Unpin every product",
    errors=("not_found", "broadcast_ended"),
)
async def unpin_all(request: web.Request) -> web.Response:
    async with request.app[DB]() as session, session.begin():
        b = await _locked(session, request)
        await session.execute(delete(BroadcastPin).where(BroadcastPin.broadcast_id == b.id))
        b.pinned_product_id = None
    return await _changed(request, b, [], "clear", None)


def _state(b: Broadcast, pins: list[Product]) -> dict[str, Any]:
    views = [product_view(p) for p in pins]
    return {"broadcast_id": b.id, "pinned": views[0] if views else None, "pins": views}
