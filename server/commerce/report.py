"""The sale's numbers: `GET /api/v1/broadcasts/{id}/report`, live while on air, final after the end.

Order figures (funnel steps from checkout on, revenue per product, offer, auction and source, average
order value) are computed from the orders table every time, so a payment settling after the show still
counts. The audience (live's AudienceFigures seam) and the claim counters (measure.py, the inventory's
`expired_holds`) live in Redis while on air and are folded into `broadcast_reports` when it ends.
Revenue counts sold orders (confirmed, paid, fulfilled) only; see docs/REPORT.md for every definition.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.api import attribution
from server.api.auth import require_host
from server.api.context import CLOCK, DB, INVENTORY
from server.api.openapi import Router
from server.api.seams import AUDIENCE
from server.api.validation import json_response, path_id
from server.broadcasts import Broadcast
from server.clock import now_ms
from server.commerce.measure import SALE_MEASURE
from server.commerce.models import Auction, BroadcastReport
from server.commerce.offers import owned_broadcast
from server.commerce.report_csv import csv_response, wants_csv
from server.inventory.models import SOLD_STATUSES, Offer, Order, Product

log = logging.getLogger("liveshop.commerce")
router = Router()
# Orders that never were a sale attempt of this room (a platform order that found no units).
NOT_ORDERS = ("flagged",)


@router.get(
    "/api/v1/broadcasts/{id}/report",
    auth="host",
    tag="broadcasts",
    summary="The sale's numbers: audience, funnel, revenue per product/offer/auction/source (JSON or CSV)",
    errors=("not_found", "validation_error", "not_acceptable"),
)
async def broadcast_report(request: web.Request) -> web.StreamResponse:
    host = require_host(request)
    broadcast_id = path_id(request)
    as_csv = wants_csv(request)  # bad ?format= / Accept answer before any work
    async with request.app[DB]() as session:
        b = await owned_broadcast(session, broadcast_id, host)
    report = await build_report(request.app, b)
    if as_csv:
        return csv_response(report, f"report-{broadcast_id}.csv")
    return json_response(report)


async def fold_report(app: web.Application, broadcast_id: str) -> dict[str, Any]:
    """At the end: the Redis-held figures into PostgreSQL, once (a second end, or a racing node, keeps
    the first). Returns the stored figures."""
    async with app[DB]() as session:
        row = await session.get(BroadcastReport, broadcast_id)
        if row is not None:
            return dict(row.figures)
    figures = await _redis_figures(app, broadcast_id)
    try:
        async with app[DB]() as session, session.begin():
            session.add(BroadcastReport(broadcast_id=broadcast_id, figures=figures))
    except IntegrityError:
        async with app[DB]() as session:
            row = await session.get(BroadcastReport, broadcast_id)
            if row is not None:
                return dict(row.figures)
    return figures


async def _redis_figures(app: web.Application, broadcast_id: str) -> dict[str, Any]:
    expired = {offer_id: await _expired(app, offer_id) for offer_id in await _offer_ids(app, broadcast_id)}
    return {
        "audience": await app[AUDIENCE](broadcast_id),
        "sale": await app[SALE_MEASURE].figures(broadcast_id),
        "expired_holds": expired,
    }


async def _expired(app: web.Application, offer_id: str) -> int:
    """Holds of an offer that ran out unbought (the inventory counts them as it returns them)."""
    try:
        state = await app[INVENTORY].state(offer_id)
    except Exception as exc:
        log.warning("expired holds unavailable offer=%s error=%r", offer_id, exc)
        return 0
    return int((state or {}).get("expired_holds", 0))


async def _offer_ids(app: web.Application, broadcast_id: str) -> list[str]:
    async with app[DB]() as session:
        rows = await session.execute(select(Offer.id).where(Offer.broadcast_id == broadcast_id))
        return list(rows.scalars().all())


def _ms(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() * 1000)


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


async def build_report(app: web.Application, b: Broadcast) -> dict[str, Any]:
    if b.status == "ended":
        figures = await fold_report(app, b.id)
        state = "final"
        # holds still open at the end run out after it: Redis keeps counting them for a week
        expired = {k: max(int(v), await _expired(app, k)) for k, v in figures["expired_holds"].items()}
    else:
        figures = await _redis_figures(app, b.id)
        state = "live" if b.status == "live" else "scheduled"
        expired = figures["expired_holds"]
    audience, sale = figures["audience"], figures["sale"]
    async with app[DB]() as session:
        offers = (
            await session.execute(
                select(Offer, Product.title, Product.sku)
                .join(Product, Product.id == Offer.product_id)
                .where(Offer.broadcast_id == b.id)
                .order_by(Offer.created_at)
            )
        ).all()
        auctions = (
            (
                await session.execute(
                    select(Auction).where(Auction.broadcast_id == b.id).order_by(Auction.created_at)
                )
            )
            .scalars()
            .all()
        )
        in_broadcast = Offer.broadcast_id == b.id
        groups = (
            await session.execute(
                select(
                    Order.offer_id,
                    Order.source,
                    Order.channel,
                    Order.status,
                    func.count(Order.id),
                    func.coalesce(func.sum(Order.quantity), 0),
                    func.coalesce(func.sum(Order.total), 0),
                )
                .join(Offer, Offer.id == Order.offer_id)
                .where(in_broadcast, Order.status.not_in(NOT_ORDERS))
                .group_by(Order.offer_id, Order.source, Order.channel, Order.status)
            )
        ).all()
        ordered_buyers, paid_buyers = (
            await session.execute(
                select(
                    func.count(func.distinct(Order.buyer_id)),
                    func.count(func.distinct(Order.buyer_id)).filter(Order.status.in_(SOLD_STATUSES)),
                )
                .join(Offer, Offer.id == Order.offer_id)
                .where(in_broadcast, Order.status.not_in(NOT_ORDERS))
            )
        ).one()
    auction_of = {a.offer_id: a for a in auctions if a.offer_id}
    product_titles = {o.product_id: title for o, title, _ in offers}
    currency = next((o.currency for o, _, _ in offers), "USD")

    empty = {"orders": 0, "paid_orders": 0, "units": 0, "revenue": 0}
    per_offer: dict[str, dict[str, int]] = {}
    per_source: dict[str, dict[str, int]] = {}
    totals = dict(empty)
    for offer_id, source, channel, status, n, units, revenue in groups:
        sold = status in SOLD_STATUSES
        name = str(source or (channel if channel != "liveshop" else attribution.DIRECT))
        for bucket in (
            per_offer.setdefault(str(offer_id), dict(empty)),
            per_source.setdefault(name, dict(empty)),
            totals,
        ):
            bucket["orders"] += int(n)
            if sold:
                bucket["paid_orders"] += int(n)
                bucket["units"] += int(units)
                bucket["revenue"] += int(revenue)

    offer_rows: list[dict[str, Any]] = []
    auction_rows: list[dict[str, Any]] = []
    per_product: dict[str, dict[str, Any]] = {}
    sold_out_ms = sale["sold_out_ms"]
    for o, title, sku in offers:
        got = per_offer.get(o.id, empty)
        product = per_product.setdefault(
            o.product_id, {"product_id": o.product_id, "title": title, "sku": sku, **empty}
        )
        for k in empty:
            product[k] += got[k]
        auction = auction_of.get(o.id)
        if auction is not None:
            auction_rows.append(
                {
                    "auction_id": auction.id,
                    "product_id": auction.product_id,
                    "title": product_titles.get(auction.product_id, title),
                    "status": auction.status,
                    "winning_bid": auction.winning_bid,
                    **got,
                }
            )
            continue
        starts = _ms(o.starts_at)
        out_at = sold_out_ms.get(o.id)
        offer_rows.append(
            {
                "offer_id": o.id,
                "product_id": o.product_id,
                "title": title,
                "price": o.price,
                "quantity": o.quantity,
                "status": o.status,
                "holds_expired": expired.get(o.id, 0),
                "sold_out_after_s": round((out_at - starts) / 1000, 3) if out_at and starts else None,
                **got,
            }
        )
    for auction in auctions:  # an auction without a winner (yet) has no offer
        if auction.offer_id is None:
            auction_rows.append(
                {
                    "auction_id": auction.id,
                    "product_id": auction.product_id,
                    "title": product_titles.get(auction.product_id),
                    "status": auction.status,
                    "winning_bid": auction.winning_bid,
                    **empty,
                }
            )
    if auctions and any(p["title"] is None for p in auction_rows):
        async with app[DB]() as session:
            rows = await session.execute(
                select(Product.id, Product.title).where(Product.id.in_([a.product_id for a in auctions]))
            )
            titles = dict(rows.tuples().all())
        for row in auction_rows:
            row["title"] = row["title"] or titles.get(str(row["product_id"]))

    viewers_by_source = audience.get("viewers_by_source", {})
    reservers_by_source = sale.get("reservers_by_source", {})
    sources: list[dict[str, Any]] = []
    for name in sorted(set(per_source) | set(viewers_by_source) | set(reservers_by_source)):
        got = per_source.get(name, empty)
        sources.append(
            {
                "source": name,
                "viewers": int(viewers_by_source.get(name, 0)),
                "reserved": int(reservers_by_source.get(name, 0)),
                **got,
                "share_of_revenue": _share(got["revenue"], totals["revenue"]),
            }
        )
    sources.sort(key=lambda s: (-s["revenue"], -s["orders"], s["source"]))
    viewers = int(audience.get("unique_viewers", 0))
    funnel = {
        "viewers": viewers,
        "reserved": int(sale["reservers"]),
        "ordered": int(ordered_buyers),
        "paid": int(paid_buyers),
    }
    return {
        "broadcast_id": b.id,
        "title": b.title,
        "status": b.status,
        "report": state,
        "generated_at_ms": now_ms(app[CLOCK]),
        "currency": currency,
        "audience": {k: v for k, v in audience.items() if k not in ("samples", "viewers_by_source")},
        "funnel": funnel,
        "conversion": {
            "reserved_of_viewers": _share(funnel["reserved"], viewers),
            "ordered_of_reserved": _share(funnel["ordered"], funnel["reserved"]),
            "paid_of_ordered": _share(funnel["paid"], funnel["ordered"]),
            "paid_of_viewers": _share(funnel["paid"], viewers),
        },
        "sales": {
            **totals,
            "average_order_value": round(totals["revenue"] / totals["paid_orders"])
            if totals["paid_orders"]
            else 0,
            "holds": int(sale["holds"]),
            "holds_released": int(sale["released"]),
            "holds_expired": sum(int(n) for n in expired.values()),
        },
        "products": sorted(per_product.values(), key=lambda p: (-p["revenue"], p["title"] or "")),
        "offers": offer_rows,
        "auctions": auction_rows,
        "sources": sources,
        "samples": audience.get("samples", []),
    }
