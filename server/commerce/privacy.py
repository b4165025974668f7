"""A buyer's personal data on request (GDPR art. 15/17, PIPA art. 35/36): the shop's host exports it or
erases it. An erased order keeps what the books need (amounts, items, dates) and forgets the person:
name, email, address, the guest account's nickname and network, and (through PERSON_ERASED) their chat.
Retention prunes what nobody asked about: order addresses older than LIVESHOP_RETENTION_ORDER_ADDRESS_DAYS.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import EmailStr
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.auth import Principal, require_host
from server.api.context import CLOCK, DB, EVENTS
from server.api.models import User
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body
from server.clock import utc
from server.commerce.views import iso
from server.errors import DomainError
from server.events import PERSON_ERASED
from server.inventory.models import Order

log = logging.getLogger("liveshop.commerce")
router = Router()
ERASED = {"erased": True}


class BuyerRef(Body):
    email: EmailStr


async def _orders_of(session: AsyncSession, shop_id: str, email: str) -> list[Order]:
    """The shop's orders whose buyer gave this email (read in pages: JSON columns differ per database)."""
    wanted = email.strip().lower()
    found: list[Order] = []
    query = (
        select(Order)
        .where(Order.shop_id == shop_id)
        .order_by(Order.created_at)
        .execution_options(yield_per=500)
    )
    async for order in await session.stream_scalars(query):
        given = order.buyer.get("email") if isinstance(order.buyer, dict) else None
        if isinstance(given, str) and given.strip().lower() == wanted:
            found.append(order)
    return found


def _export(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "created_at": iso(order.created_at),
        "status": order.status,
        "channel": order.channel,
        "buyer": order.buyer,
        "items": [
            {"product_id": order.product_id, "quantity": order.quantity, "unit_price": order.unit_price}
        ],
        "total": order.total,
        "currency": order.currency,
    }


def _owner(request: web.Request) -> Principal:
    host = require_host(request)
    if host.shop_role != "owner":
        raise DomainError("forbidden", "Only the shop's owner handles personal-data requests")
    return host


@router.post(
    "/api/v1/privacy/export",
    body=BuyerRef,
    auth="host",
    tag="privacy",
    summary="Everything the shop holds about a buyer (by email): orders and guest accounts",
    errors=("forbidden",),
)
async def export(request: web.Request) -> web.Response:
    host = _owner(request)
    body = await parse_body(request, BuyerRef)
    async with request.app[DB]() as session:
        orders = await _orders_of(session, host.shop_id or "", body.email)
        ids = sorted({o.buyer_id for o in orders if o.buyer_id})
        users = (await session.execute(select(User).where(User.id.in_(ids)))).scalars().all() if ids else []
    return json_response(
        {
            "email": body.email,
            "orders": [_export(o) for o in orders],
            "accounts": [
                {"id": u.id, "nickname": u.nickname, "created_at": iso(u.created_at)} for u in users
            ],
        }
    )


@router.post(
    "/api/v1/privacy/erase",
    body=BuyerRef,
    auth="host",
    tag="privacy",
    summary="Forget a buyer: orders keep their amounts, the person (name, email, address, chat) is gone",
    errors=("forbidden",),
)
async def erase(request: web.Request) -> web.Response:
    host = _owner(request)
    body = await parse_body(request, BuyerRef)
    async with request.app[DB]() as session, session.begin():
        orders = await _orders_of(session, host.shop_id or "", body.email)
        ids = sorted({o.buyer_id for o in orders if o.buyer_id})
        for order in orders:
            order.buyer = dict(ERASED)
            order.buyer_id = None
            order.idempotency_key = None
            order.request_hash = None
        if ids:
            await session.execute(
                update(User)
                .where(User.id.in_(ids), User.role == "viewer")
                .values(nickname="erased", origin_network=None)
            )
    if ids:
        await request.app[EVENTS].publish(PERSON_ERASED, {"user_ids": ids, "shop_id": host.shop_id})
    return json_response({"orders": len(orders), "accounts": len(ids)})


async def prune_order_addresses(sessionmaker: async_sessionmaker[AsyncSession], older_than: datetime) -> int:
    """Retention: orders placed before `older_than` keep name and email (for returns) but lose the address."""
    pruned = 0
    async with sessionmaker() as session, session.begin():
        query = select(Order).where(Order.created_at < older_than).execution_options(yield_per=500)
        async for order in await session.stream_scalars(query):
            if isinstance(order.buyer, dict) and order.buyer.get("address"):
                order.buyer = {**order.buyer, "address": None}
                pruned += 1
    return pruned


async def prune_addresses_now(app: web.Application, days: int) -> int:
    """One retention pass: addresses of orders older than `days` are pruned."""
    return await prune_order_addresses(app[DB], utc(app[CLOCK]) - timedelta(days=days))
