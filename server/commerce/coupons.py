"""Live coupons: the host creates a code for a broadcast, the room hears of it, checkout applies it.

A coupon is a row in PostgreSQL (its terms, its window) and counters in Redis (`CouponBook`): every
checkout that names it redeems it in one atomic step under the sale's lock, so a rush never redeems
more than `max_uses` in all nor `max_per_buyer` per buyer. A checkout that fails gives its redemption
back at once; an order canceled later (its payment never came) gives it back when it is canceled. A
refunded order keeps its redemption: the sale happened.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.auth import require_host
from server.api.context import CLOCK, DB, EVENTS, REDIS
from server.api.openapi import Router
from server.api.validation import json_response, parse_body, path_id
from server.broadcasts import Broadcast
from server.clock import utc
from server.commerce.models import Coupon
from server.commerce.offers import owned_broadcast
from server.commerce.schemas import CouponIn
from server.commerce.views import iso
from server.db.base import new_id
from server.errors import DomainError, NotFound
from server.events import COUPON, ORDER_CANCELED, Event
from server.inventory.coupons import CouponBook, CouponCount, CouponTerms
from server.inventory.models import Offer, Order
from server.inventory.sale import give_back_quietly

log = logging.getLogger("liveshop.commerce")
router = Router()
COUPON_BOOK = web.AppKey("coupon_book", CouponBook)
UNDONE = ("canceled", "cancelled")  # orders whose redemption went back


def coupon_view(c: Coupon, count: CouponCount | None) -> dict[str, Any]:
    """A coupon as the host and the room see it; `uses_left` is live (Redis) while it runs."""
    used = count.used if count is not None else 0
    return {
        "id": c.id,
        "broadcast_id": c.broadcast_id,
        "code": c.code,
        "percent_off": c.percent_off,
        "amount_off": c.amount_off,
        "currency": c.currency,
        "max_uses": c.max_uses,
        "max_per_buyer": c.max_per_buyer,
        "uses": used,
        "uses_left": max(0, c.max_uses - used) if c.status == "active" else 0,
        "status": c.status,
        "expires_at": iso(c.expires_at),
        "ended_at": iso(c.ended_at),
    }


def load_args(c: Coupon, uses: list[tuple[str, str]]) -> list[Any]:
    """coupon_load.lua's ARGV: the terms, then (use id, buyer) of every order that holds a use."""
    args: list[Any] = [c.max_uses, c.max_per_buyer, int(c.expires_at.timestamp() * 1000), c.status, len(uses)]
    for use_id, buyer in uses:
        args += [use_id, buyer]
    return args


def database_loader(sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    """The coupon's counters from PostgreSQL: one use per order that used it and still stands."""

    async def load(coupon_id: str) -> list[Any] | None:
        async with sessionmaker() as session:
            c = await session.get(Coupon, coupon_id)
            if c is None:
                return None
            rows = (
                await session.execute(
                    select(Order.reservation_id, Order.buyer_id).where(
                        Order.coupon_id == coupon_id, Order.status.not_in(UNDONE)
                    )
                )
            ).all()
        return load_args(c, [(r.reservation_id or "", r.buyer_id or "") for r in rows if r.reservation_id])

    return load


async def _counted(app: web.Application, c: Coupon, *, end: bool = False) -> CouponCount | None:
    try:
        return await app[COUPON_BOOK].count(c.id, end=end)
    except DomainError:
        return None


async def active_coupons(app: web.Application, broadcast_id: str) -> list[dict[str, Any]]:
    """The coupons a viewer joining now can use (for the broadcast's snapshot)."""
    now = utc(app[CLOCK])
    async with app[DB]() as session:
        rows = (
            (
                await session.execute(
                    select(Coupon)
                    .where(
                        Coupon.broadcast_id == broadcast_id,
                        Coupon.status == "active",
                        Coupon.expires_at > now,
                    )
                    .order_by(Coupon.created_at.desc())
                    .limit(10)
                )
            )
            .scalars()
            .all()
        )
    return [coupon_view(c, await _counted(app, c)) for c in rows]


async def coupon_terms(app: web.Application, code: str, offer: Offer) -> CouponTerms:
    """The coupon `code` names for this offer's broadcast, or the buyer's stable refusal."""
    wanted = code.upper()
    async with app[DB]() as session:
        shop = (
            await session.execute(select(Broadcast.shop_id).where(Broadcast.id == offer.broadcast_id))
        ).scalar()
        rows = (
            (
                await session.execute(
                    select(Coupon)
                    .join(Broadcast, Broadcast.id == Coupon.broadcast_id)
                    .where(Coupon.code == wanted, Broadcast.shop_id == shop)
                    .order_by(Coupon.created_at.desc())
                )
            )
            .scalars()
            .all()
        )
    here = [c for c in rows if c.broadcast_id == offer.broadcast_id]
    if not here:
        if rows:
            raise DomainError(
                "coupon_not_applicable", "This coupon is not for this broadcast", field="coupon"
            )
        raise DomainError("coupon_unknown", "No such coupon", field="coupon")
    c = next((c for c in here if c.status == "active"), here[0])
    if c.status != "active" or c.expires_at <= utc(app[CLOCK]):
        raise DomainError("coupon_expired", "This coupon has expired", field="coupon")
    if c.amount_off is not None and c.currency != offer.currency:
        raise DomainError(
            "coupon_not_applicable", f"This coupon takes {c.amount_off} {c.currency} off", field="coupon"
        )
    return CouponTerms(c.id, c.code, c.percent_off, c.amount_off)


@router.post(
    "/api/v1/broadcasts/{id}/coupons",
    body=CouponIn,
    status=201,
    auth="host",
    tag="coupons",
    summary="Create a live coupon for this broadcast and announce it in the room",
    errors=("not_found", "broadcast_ended", "coupon_exists"),
)
async def create_coupon(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, CouponIn)
    now = utc(request.app[CLOCK])
    expires_at = body.ends(now)
    if expires_at <= now:
        raise DomainError("validation_error", "expires_at: must be in the future", field="expires_at")
    code = body.code.upper()
    async with request.app[DB]() as session, session.begin():
        b = await owned_broadcast(session, path_id(request), host, lock=True)  # one create at a time
        if b.status == "ended":
            raise DomainError("broadcast_ended", "Cannot start a coupon in an ended broadcast")
        running = (
            await session.execute(
                select(Coupon.id).where(
                    Coupon.broadcast_id == b.id,
                    Coupon.code == code,
                    Coupon.status == "active",
                    Coupon.expires_at > now,
                )
            )
        ).first()
        if running is not None:
            raise DomainError("coupon_exists", f"{code} is running in this broadcast", field="code")
        c = Coupon(
            id=new_id("cp"),
            broadcast_id=b.id,
            code=code,
            percent_off=body.percent_off,
            amount_off=body.amount_off,
            currency=body.currency if body.amount_off is not None else None,
            max_uses=body.max_uses,
            max_per_buyer=body.max_per_buyer,
            status="active",
            expires_at=expires_at,
        )
        session.add(c)
    await request.app[COUPON_BOOK].load(c.id, load_args(c, []))
    view = coupon_view(c, CouponCount("active", 0, c.max_uses))
    await request.app[EVENTS].publish(COUPON, {"type": "announced", "coupon": view, "broadcast_id": b.id})
    return json_response(view, status=201)


@router.get(
    "/api/v1/broadcasts/{id}/coupons",
    auth="host",
    tag="coupons",
    summary="The broadcast's coupons with their live uses",
    errors=("not_found",),
)
async def list_coupons(request: web.Request) -> web.Response:
    host = require_host(request)
    async with request.app[DB]() as session:
        b = await owned_broadcast(session, path_id(request), host)
        rows = (
            (
                await session.execute(
                    select(Coupon)
                    .where(Coupon.broadcast_id == b.id)
                    .order_by(Coupon.created_at.desc())
                    .limit(100)
                )
            )
            .scalars()
            .all()
        )
    return json_response({"items": [coupon_view(c, await _counted(request.app, c)) for c in rows]})


@router.delete(
    "/api/v1/broadcasts/{id}/coupons/{code}",
    auth="host",
    tag="coupons",
    summary="End a coupon now: later checkouts are refused it",
    errors=("not_found",),
)
async def end_coupon(request: web.Request) -> web.Response:
    host = require_host(request)
    code = path_id(request, "code").upper()
    async with request.app[DB]() as session, session.begin():
        b = await owned_broadcast(session, path_id(request), host)
        c = (
            (
                await session.execute(
                    select(Coupon)
                    .where(Coupon.broadcast_id == b.id, Coupon.code == code)
                    .order_by(Coupon.created_at.desc())
                    .limit(1)
                    .with_for_update()
                )
            )
            .scalars()
            .first()
        )
        if c is None:
            raise NotFound("coupon")
        was_active = c.status == "active"
        if was_active:
            c.status, c.ended_at = "ended", utc(request.app[CLOCK])
    count = await _counted(request.app, c, end=True)  # after the commit: a rebuild then reads "ended"
    view = coupon_view(c, count)
    if was_active:
        await request.app[EVENTS].publish(COUPON, {"type": "ended", "coupon": view, "broadcast_id": b.id})
    return json_response(view)


async def announce_uses(app: web.Application, coupon_id: str, code: str, broadcast_id: str) -> None:
    """Tell the room how many uses are left after one was taken or given back (the room coalesces
    these to about one a second). A count Redis cannot give is simply not announced."""
    try:
        count = await app[COUPON_BOOK].count(coupon_id)
    except Exception as exc:
        log.warning("coupon uses not announced coupon=%s error=%r", coupon_id, exc)
        return
    coupon = {"id": coupon_id, "code": code, "uses": count.used, "uses_left": count.uses_left}
    await app[EVENTS].publish(COUPON, {"type": "used", "coupon": coupon, "broadcast_id": broadcast_id})


async def coupon_check(session: AsyncSession, offer_ids: list[str]) -> tuple[list[str], list[str]]:
    """The audit's look at coupons (orders of `offer_ids`, or all): no coupon stands on more orders than
    its caps allow, and every order's total is its subtotal less its discount, never below zero."""
    scope = Order.offer_id.in_(offer_ids) if offer_ids else Order.id.is_not(None)
    priced = (
        await session.execute(
            select(Order.id, Order.quantity, Order.unit_price, Order.discount, Order.total).where(
                scope, Order.coupon_id.is_not(None)
            )
        )
    ).all()
    problems = [
        f"order {o.id}: total {o.total} is not {o.quantity} x {o.unit_price} less {o.discount}"
        for o in priced
        if o.total != o.quantity * o.unit_price - o.discount or o.total < 0 or o.discount < 0
    ]
    coupon_ids = select(Order.coupon_id).where(scope, Order.coupon_id.is_not(None)).distinct()
    standing = (Order.coupon_id == Coupon.id) & Order.status.not_in(UNDONE)
    totals = (
        await session.execute(
            select(Coupon.code, Coupon.max_uses, func.count(Order.id))
            .join(Order, standing)
            .where(Coupon.id.in_(coupon_ids))
            .group_by(Coupon.id, Coupon.code, Coupon.max_uses)
        )
    ).all()
    problems += [f"coupon {code} stands on {n} orders, over its {cap}" for code, cap, n in totals if n > cap]
    buyers = (
        await session.execute(
            select(Coupon.code, Coupon.max_per_buyer, Order.buyer_id, func.count(Order.id))
            .join(Order, standing)
            .where(Coupon.id.in_(coupon_ids))
            .group_by(Coupon.id, Coupon.code, Coupon.max_per_buyer, Order.buyer_id)
        )
    ).all()
    problems += [
        f"coupon {code}: buyer {who} holds {n} uses, over {cap}" for code, cap, who, n in buyers if n > cap
    ]
    return problems, [f"{len(priced)} order(s) with a coupon checked"] if priced else []


def setup(app: web.Application) -> None:
    """The coupon book, its rebuild from PostgreSQL, and the give-back when an order is canceled."""
    book = app[COUPON_BOOK] = CouponBook(app[REDIS], clock=app[CLOCK])
    book.set_loader(database_loader(app[DB]))

    async def on_canceled(event: Event) -> None:
        if not event.is_local or not isinstance(event.data.get("id"), str):
            return
        async with app[DB]() as session:
            order = await session.get(Order, event.data["id"])
            offer = await session.get(Offer, order.offer_id) if order is not None and order.offer_id else None
        if order is not None and order.coupon_id and order.reservation_id and order.status in UNDONE:
            await give_back_quietly(book, order.coupon_id, order.reservation_id)
            if offer is not None and order.coupon_code:
                await announce_uses(app, order.coupon_id, order.coupon_code, offer.broadcast_id)

    app[EVENTS].subscribe(ORDER_CANCELED, on_canceled)
    router.install(app)
