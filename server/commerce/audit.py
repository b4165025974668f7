"""`GET /api/v1/audit`: the inventory audit over HTTP, so ops can check a deployment from anywhere.

The same `run_audit` as `liveshop audit`, restricted to the calling host's own offers (optionally one
broadcast's, or named offers), plus per-offer order counts so a load test can match its own ledger.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from server.api.auth import require_host
from server.api.context import DB, INVENTORY
from server.api.openapi import Router
from server.api.seams import AUDIT_CHECKS
from server.api.validation import json_response
from server.broadcasts import Broadcast
from server.errors import DomainError
from server.inventory.audit import run_audit
from server.inventory.models import SOLD_STATUSES, Offer, Order

router = Router()
MAX_OFFERS = 1000


@router.get(
    "/api/v1/audit",
    auth="host",
    tag="operations",
    summary="Audit this host's offers: counters add up, nothing oversold, Redis agrees with PostgreSQL",
    errors=("not_found",),
)
async def audit(request: web.Request) -> web.Response:
    host = require_host(request)
    broadcast_id = request.query.get("broadcast_id")
    wanted = request.query.getall("offer_id", [])
    query = (
        select(Offer.id)
        .join(Broadcast, Broadcast.id == Offer.broadcast_id)
        .where(Broadcast.host_id == host.id)
    )
    if broadcast_id:
        query = query.where(Offer.broadcast_id == broadcast_id)
    if wanted:
        query = query.where(Offer.id.in_(wanted))
    async with request.app[DB]() as session:
        offer_ids = list((await session.execute(query.limit(MAX_OFFERS + 1))).scalars().all())
        if len(offer_ids) > MAX_OFFERS:
            raise DomainError("bad_request", f"More than {MAX_OFFERS} offers; name a broadcast_id")
        orders = await _order_totals(session, offer_ids)
    if wanted and len(offer_ids) != len(set(wanted)):
        raise DomainError("not_found", "offer not found (or another host's)", field="offer_id")
    checks = request.app.get(AUDIT_CHECKS, [])
    report = await run_audit(request.app[DB], request.app[INVENTORY], offer_ids, checks)
    body = report.as_dict()
    for row in body["offers"]:
        row["orders"], row["ordered_units"] = orders.get(row["offer_id"], (0, 0))
    return json_response(body)


async def _order_totals(session: Any, offer_ids: list[str]) -> dict[str, tuple[int, int]]:
    """offer id -> (orders that count as sold, their units)."""
    if not offer_ids:
        return {}
    rows = await session.execute(
        select(Order.offer_id, func.count(), func.coalesce(func.sum(Order.quantity), 0))
        .where(Order.offer_id.in_(offer_ids), Order.status.in_(SOLD_STATUSES))
        .group_by(Order.offer_id)
    )
    return {offer_id: (int(n), int(units)) for offer_id, n, units in rows.all()}
