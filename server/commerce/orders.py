"""Checkout: a viewer's hold becomes an order, exactly once (the steps and their order live in
`server/inventory/sale.py`, shared with platform orders); here: idempotency and the answer.

When the shop takes money online (the payments seam is enabled), the order is `pending_payment`: its
units stay held until the payment deadline, and after the commit, outside any transaction or lock, the
payment is opened at the provider. A provider that is down answers 503 `payment_unavailable` with the
order and its hold kept: a retry (same key, or the same hold) answers with the same order and tries
the payment again."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from server.api import attribution
from server.api.auth import Principal, require_user
from server.api.context import DB, EVENTS, INVENTORY
from server.api.openapi import Router
from server.api.seams import PAYMENTS
from server.api.validation import idempotency_key, json_response, parse_body, path_id
from server.commerce.coupons import COUPON_BOOK, announce_uses, coupon_terms
from server.commerce.offers import OFFERS
from server.commerce.schemas import OrderIn
from server.commerce.views import order_view
from server.db.base import new_id
from server.errors import DomainError, NotFound
from server.inventory.keys import hold_offer_id
from server.inventory.models import Offer, Order, Product
from server.inventory.sale import REFUSALS, CouponUse, sell_hold

log = logging.getLogger("liveshop.commerce")
router = Router()


def request_hash(body: OrderIn) -> str:
    return hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _existing(
    request: web.Request, buyer: Principal, key: str | None, reservation_id: str, digest: str
) -> Order | None:
    """An order this request already made (same key, same body), or an error if the key/hold was used.

    One statement, so one snapshot: a twin committing between two lookups cannot make its order look
    like another request's."""
    wanted = [Order.reservation_id == reservation_id]
    if key is not None:
        wanted.append(and_(Order.buyer_id == buyer.id, Order.idempotency_key == key))
    async with request.app[DB]() as session:
        found = (await session.execute(select(Order).where(or_(*wanted)))).scalars().all()
    for order in found:
        if key is not None and order.buyer_id == buyer.id and order.idempotency_key == key:
            if order.request_hash != digest:
                raise DomainError("idempotency_key_reused")
            return order
    for order in found:  # the hold's order, made by another request
        if order.buyer_id != buyer.id:
            raise NotFound("reservation")
        if order.status == "pending_payment":  # a retry after payment_unavailable, without its key
            return order
        raise DomainError("conflict", "This reservation was already checked out", order_id=order.id)
    return None


def _payments(request: web.Request) -> Any:
    """The payments seam when the shop takes money online, else None."""
    seam = request.app.get(PAYMENTS)
    return seam if seam is not None and seam.enabled else None


async def _render(request: web.Request, order: Order, status: int) -> web.Response:
    async with request.app[DB]() as session:
        product = await session.get(Product, order.product_id)
    view = order_view(order, product)
    seam = _payments(request)
    if order.status == "pending_payment" and seam is not None:
        view["payment"] = await seam.open(order.id)
    return json_response(view, status=status)


@router.post(
    "/api/v1/orders",
    body=OrderIn,
    status=201,
    auth="user",
    idempotent=True,
    tag="buying",
    summary="Check out a reservation",
    errors=(
        "not_found",
        "reservation_expired",
        "checkout_in_progress",
        "idempotency_key_reused",
        "conflict",
        "service_unavailable",
        "payment_unavailable",
        "coupon_unknown",
        "coupon_expired",
        "coupon_used_up",
        "coupon_limit_exceeded",
        "coupon_not_applicable",
    ),
)
async def checkout(request: web.Request) -> web.Response:
    buyer = require_user(request)
    body = await parse_body(request, OrderIn)
    key = idempotency_key(request)
    digest = request_hash(body)
    hold_id = body.reservation_id
    offer_id = hold_offer_id(hold_id)
    if offer_id is None:
        raise DomainError("not_found", "reservation not found", field="reservation_id")
    previous = await _existing(request, buyer, key, hold_id, digest)
    if previous is not None:
        return await _render(request, previous, 201)
    seam = _payments(request)
    came_from = attribution.from_header(request.headers.get(attribution.HEADER))
    coupon = None
    broadcast_id = ""
    if body.coupon is not None:  # refused here (unknown, ended, not this broadcast's): the hold stays
        offer = (await request.app[OFFERS].get(offer_id)).offer
        terms = await coupon_terms(request.app, body.coupon, offer)
        coupon, broadcast_id = CouponUse(request.app[COUPON_BOOK], terms), offer.broadcast_id

    def make_order(offer: Offer, product: Product, quantity: int) -> Order:
        return Order(
            id=new_id("or"),
            shop_id=product.shop_id,
            channel="liveshop",
            offer_id=offer.id,
            product_id=product.id,
            reservation_id=hold_id,
            buyer_id=buyer.id,
            buyer=body.buyer.model_dump(),
            quantity=quantity,
            unit_price=offer.price,
            total=offer.price * quantity,
            currency=offer.currency,
            status="pending_payment" if seam is not None else "confirmed",
            idempotency_key=key,
            request_hash=digest,
            **came_from.columns(),
        )

    try:
        sale = await sell_hold(
            request.app[DB],
            request.app[INVENTORY],
            hold_id,
            buyer.id,
            make_order,
            events=request.app[EVENTS],
            awaiting=seam.deadline_ms if seam is not None else None,
            coupon=coupon,
        )
    except DomainError as exc:
        if exc.code in REFUSALS:
            # A twin of this request used the reservation first: sell_hold queued us behind it until
            # it committed, so its order is this request's answer too. Otherwise the refusal stands.
            previous = await _existing(request, buyer, key, hold_id, digest)
        elif exc.code == "service_unavailable":  # the commit may have landed before the error
            previous = await _existing(request, buyer, key, hold_id, digest)
        else:
            raise
        if previous is not None:
            return await _render(request, previous, 201)
        raise
    except IntegrityError:
        # A concurrent request with the same key or hold won the race; answer as it did.
        previous = await _existing(request, buyer, key, hold_id, digest)
        if previous is not None:
            return await _render(request, previous, 201)
        raise
    if coupon is not None:
        await announce_uses(request.app, coupon.terms.id, coupon.terms.code, broadcast_id)
    view = order_view(sale.order, sale.product)
    if seam is not None and sale.order.status == "pending_payment":  # a coupon may leave nothing to pay
        view["payment"] = await seam.open(sale.order.id, sale.order)  # outside every transaction and lock
    return json_response(view, status=201)


@router.get(
    "/api/v1/orders/{id}",
    auth="user",
    tag="buying",
    summary="An order (its buyer, or a host of its shop)",
    errors=("not_found",),
)
async def get_order(request: web.Request) -> web.Response:
    who = require_user(request)
    async with request.app[DB]() as session:
        order = await session.get(Order, path_id(request))
        if order is None or not (order.buyer_id == who.id or (who.is_host and who.shop_id == order.shop_id)):
            raise NotFound("order")
        product = await session.get(Product, order.product_id)
    return json_response(order_view(order, product))
