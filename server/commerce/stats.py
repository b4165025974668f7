"""A broadcast's sales so far, for the host's live dashboard: orders, buyers, units, revenue."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from server.api.auth import require_host
from server.api.context import DB
from server.api.openapi import Router
from server.api.validation import json_response, path_id
from server.commerce.offers import owned_broadcast
from server.inventory.models import SOLD_STATUSES, Offer, Order, Product

router = Router()


@router.get(
    "/api/v1/broadcasts/{id}/stats",
    auth="host",
    tag="broadcasts",
    summary="Sales of a broadcast so far: orders, distinct buyers, units, revenue, latest orders",
    errors=("not_found",),
)
async def broadcast_stats(request: web.Request) -> web.Response:
    host = require_host(request)
    broadcast_id = path_id(request)
    in_broadcast = (
        select(Order)
        .join(Offer, Offer.id == Order.offer_id)
        .where(Offer.broadcast_id == broadcast_id, Order.status.in_(SOLD_STATUSES))
    )
    async with request.app[DB]() as session:
        await owned_broadcast(session, broadcast_id, host.id)
        sub = in_broadcast.subquery()
        totals = (
            await session.execute(
                select(
                    func.count(sub.c.id),
                    func.count(func.distinct(sub.c.buyer_id)),
                    func.coalesce(func.sum(sub.c.quantity), 0),
                    func.coalesce(func.sum(sub.c.total), 0),
                    func.max(sub.c.currency),
                )
            )
        ).one()
        latest = (
            await session.execute(
                select(Order, Product.title)
                .join(Offer, Offer.id == Order.offer_id)
                .join(Product, Product.id == Order.product_id)
                .where(Offer.broadcast_id == broadcast_id, Order.status.in_(SOLD_STATUSES))
                .order_by(Order.created_at.desc())
                .limit(10)
            )
        ).all()
    orders, buyers, units, revenue, currency = totals
    return json_response(
        {
            "broadcast_id": broadcast_id,
            "orders": int(orders),
            "buyers": int(buyers),
            "units_sold": int(units),
            "revenue": int(revenue),
            "currency": currency or "USD",
            "latest_orders": [
                {
                    "id": o.id,
                    "title": title,
                    "quantity": o.quantity,
                    "total": o.total,
                    "currency": o.currency,
                    "created_at": o.created_at.isoformat(),
                }
                for o, title in latest
            ],
        }
    )
