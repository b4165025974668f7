"""The host's orders desk: orders per broadcast or overall, by status or buyer, as JSON or CSV; and
marking an order fulfilled (shipped)."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web
from sqlalchemy import String, cast, or_, select

from server.api.auth import require_host
from server.api.context import DB, EVENTS
from server.api.openapi import Router
from server.api.order_view import order_view
from server.api.validation import json_response, path_id
from server.broadcasts import Broadcast
from server.errors import DomainError, NotFound
from server.events import ORDER_FULFILLED, EventBus
from server.inventory.models import Offer, Order, Product

router = Router()
STATUSES = (
    "pending_payment",
    "confirmed",
    "paid",
    "fulfilled",
    "canceled",
    "refunded",
    "cancelled",
    "flagged",
)
MAX_LIMIT = 1000
CSV_COLUMNS = (
    "id",
    "created_at",
    "status",
    "broadcast_id",
    "offer_id",
    "sku",
    "title",
    "quantity",
    "unit_price",
    "total",
    "currency",
    "buyer_name",
    "buyer_email",
    "buyer_address",
    "payment_provider",
    "payment_id",
    "notice",
    "source",
)


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise DomainError("validation_error", f"limit: 1-{MAX_LIMIT}", field="limit")
    return int(raw)


@router.get(
    "/api/v1/orders",
    auth="host",
    tag="orders",
    summary="This host's orders (broadcast_id=, status=, q= buyer search, limit=); Accept: text/csv for CSV",
    errors=("validation_error",),
    extra={
        "parameters": [
            {"name": "broadcast_id", "in": "query", "schema": {"type": "string"}},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
            {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "buyer name or email"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": MAX_LIMIT}},
        ],
    },
)
async def list_orders(request: web.Request) -> web.StreamResponse:
    host = require_host(request)
    query = (
        select(Order, Product, Offer.broadcast_id)
        .join(Offer, Offer.id == Order.offer_id)
        .join(Broadcast, Broadcast.id == Offer.broadcast_id)
        .outerjoin(Product, Product.id == Order.product_id)
        .where(Broadcast.shop_id == host.shop_id)
        .order_by(Order.created_at.desc(), Order.id)
        .limit(_limit(request))
    )
    if broadcast_id := request.query.get("broadcast_id"):
        query = query.where(Offer.broadcast_id == broadcast_id)
    if status := request.query.get("status"):
        wanted = status.split(",")
        if any(s not in STATUSES for s in wanted):
            raise DomainError("validation_error", f"status: one of {', '.join(STATUSES)}", field="status")
        query = query.where(Order.status.in_(wanted))
    if q := request.query.get("q", "").strip():
        if len(q) > 200:
            raise DomainError("validation_error", "q: at most 200 characters", field="q")
        pattern = f"%{q.lower().replace('%', '').replace('_', '')}%"
        buyer = cast(Order.buyer, String)
        query = query.where(or_(buyer.ilike(pattern), Order.id == q))
    async with request.app[DB]() as session:
        rows = (await session.execute(query)).all()
    items = [{**order_view(o, p, secret=False), "broadcast_id": b} for o, p, b in rows]
    if "text/csv" in request.headers.get("Accept", ""):
        return _csv(items)
    return json_response({"items": items})


def _csv(items: list[dict[str, Any]]) -> web.Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for it in items:
        line = it["items"][0]
        buyer = it.get("buyer") or {}
        payment = it.get("payment") or {}
        writer.writerow(
            [
                it["id"],
                it["created_at"],
                it["status"],
                it["broadcast_id"],
                it["offer_id"],
                line["sku"],
                line["title"],
                line["quantity"],
                line["unit_price"],
                it["total"],
                it["currency"],
                buyer.get("name", ""),
                buyer.get("email", ""),
                buyer.get("address", ""),
                payment.get("provider") or "",
                payment.get("id") or "",
                it.get("notice") or "",
                it.get("source") or "",
            ]
        )
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )


@router.post(
    "/api/v1/orders/{id}/fulfil",
    auth="host",
    tag="orders",
    summary="Mark a paid (or confirmed) order fulfilled: shipped to the buyer",
    errors=("not_found", "conflict"),
)
async def fulfil_order(request: web.Request) -> web.Response:
    host = require_host(request)
    async with request.app[DB]() as session, session.begin():
        order = (
            await session.execute(
                select(Order)
                .join(Offer, Offer.id == Order.offer_id)
                .join(Broadcast, Broadcast.id == Offer.broadcast_id)
                .where(Order.id == path_id(request), Broadcast.shop_id == host.shop_id)
                .with_for_update(of=Order)
            )
        ).scalar_one_or_none()
        if order is None:
            raise NotFound("order")
        product = await session.get(Product, order.product_id)
        if order.status not in ("paid", "confirmed", "fulfilled"):
            raise DomainError("conflict", f"Only a paid order is fulfilled; this one is {order.status}")
        fresh = order.status != "fulfilled"
        if fresh:
            order.status = "fulfilled"
            view = order_view(order, product, secret=False)
            EventBus.record(session, ORDER_FULFILLED, product.sku if product else order.id, view)
        view = order_view(order, product, secret=False)
    if fresh:
        await request.app[EVENTS].publish(ORDER_FULFILLED, view, relay=True)
    return json_response(view)
