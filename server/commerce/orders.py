"""Checkout: a hold becomes an order in PostgreSQL and is confirmed in Redis, exactly once.

The order of steps is what makes it safe:
1. lock the offer row FOR SHARE (a rebuild or an end takes it FOR UPDATE, so neither can count sold
   units while this order is half-written);
2. mark the hold "checking out" in Redis (expiry can no longer take it; a second checkout is refused);
3. insert the order and its outbox rows, and commit: from here the sale is true;
4. settle the hold as sold in Redis. If the process dies between 3 and 4, the sweeper finds the
   checkout past its deadline and settles it from PostgreSQL's answer. If 3 fails, the hold goes back
   to an ordinary hold with its first expiry: no unit is lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

import orjson
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from server.api.auth import Principal, require_user
from server.api.context import DB, EVENTS, INVENTORY
from server.api.openapi import Router
from server.api.validation import idempotency_key, json_response, parse_body, path_id
from server.commerce.offers import OFFERS
from server.commerce.schemas import OrderIn
from server.commerce.views import order_view
from server.db.base import new_id
from server.db.models import Offer, Order, Product
from server.errors import DomainError, NotFound
from server.events import ORDER_CONFIRMED, STOCK_CHANGED, EventBus
from server.inventory.keys import hold_offer_id

log = logging.getLogger("liveshop.commerce")
TWIN_WAIT_STEPS = 60  # x 50 ms: how long a duplicate checkout waits for its twin's order
router = Router()

BEGIN_ERRORS = {
    "reservation_expired": "This reservation expired or was released; reserve again",
    "checkout_in_progress": "This reservation is already being checked out",
}


def request_hash(body: OrderIn) -> str:
    return hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _existing(
    request: web.Request, buyer: Principal, key: str | None, reservation_id: str, digest: str
) -> Order | None:
    """An order this request already made (same key, same body), or an error if the key/hold was used."""
    async with request.app[DB]() as session:
        if key is not None:
            order = (
                await session.execute(
                    select(Order).where(Order.buyer_id == buyer.id, Order.idempotency_key == key)
                )
            ).scalar_one_or_none()
            if order is not None:
                if order.request_hash != digest:
                    raise DomainError("idempotency_key_reused")
                return order
        order = (
            await session.execute(select(Order).where(Order.reservation_id == reservation_id))
        ).scalar_one_or_none()
    if order is not None:
        if order.buyer_id != buyer.id:
            raise NotFound("reservation")
        raise DomainError("conflict", "This reservation was already checked out", order_id=order.id)
    return None


async def _render(request: web.Request, order: Order, status: int) -> web.Response:
    async with request.app[DB]() as session:
        product = await session.get(Product, order.product_id)
    return json_response(order_view(order, product), status=status)


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
    meta = await request.app[OFFERS].get(offer_id)
    inventory = request.app[INVENTORY]
    marked = False
    try:
        async with request.app[DB]() as session:
            async with session.begin():
                offer = await session.get(Offer, offer_id, with_for_update={"read": True})
                product = await session.get(Product, meta.offer.product_id)
                if offer is None or product is None:
                    raise NotFound("offer")
                code, quantity = await inventory.begin_checkout(hold_id, buyer.id)
                if code == "forbidden":
                    raise DomainError("not_found", "reservation not found", field="reservation_id")
                if code != "ok":
                    raise DomainError(code, BEGIN_ERRORS[code])  # rollback; answered below
                marked = True
                order = Order(
                    id=new_id("or"),
                    shop_id=product.shop_id,
                    channel="liveshop",
                    offer_id=offer_id,
                    product_id=product.id,
                    reservation_id=hold_id,
                    buyer_id=buyer.id,
                    buyer=body.buyer.model_dump(),
                    quantity=quantity,
                    unit_price=offer.price,
                    total=offer.price * quantity,
                    currency=offer.currency,
                    status="confirmed",
                    idempotency_key=key,
                    request_hash=digest,
                )
                session.add(order)
                await session.flush()
                view = order_view(order, product)
                EventBus.record(session, ORDER_CONFIRMED, product.sku, {**view, "sku": product.sku})
                EventBus.record(
                    session, STOCK_CHANGED, product.sku, {"product_id": product.id, "sku": product.sku}
                )
    except DomainError as exc:
        if exc.code not in BEGIN_ERRORS:
            raise
        # A concurrent twin of this request may hold or have used the reservation: its order is
        # this request's answer too.
        previous = await _await_twin(request, buyer, key, hold_id, digest, exc.code)
        if previous is not None:
            return await _render(request, previous, 201)
        raise
    except IntegrityError:
        # A concurrent request with the same key or hold won the race; answer as it did.
        if marked:
            await _settle_unsure(request, hold_id)
        previous = await _existing(request, buyer, key, hold_id, digest)
        if previous is not None:
            return await _render(request, previous, 201)
        raise
    except (SQLAlchemyError, OSError) as exc:
        if not marked:
            raise
        log.warning("checkout write failed hold=%s error=%r", hold_id, exc)
        if await _settle_unsure(request, hold_id):
            previous = await _existing(request, buyer, key, hold_id, digest)
            if previous is not None:
                return await _render(request, previous, 201)
        raise DomainError(
            "service_unavailable", "Your order could not be saved; your reservation still holds, please retry"
        ) from exc
    except BaseException:
        if marked:
            await inventory.settle_checkout(hold_id, "abort")
        raise
    try:
        await inventory.settle_checkout(hold_id, "sold")
    except Exception as exc:  # the order is committed; the sweeper settles the hold from PostgreSQL
        log.warning("hold not settled after commit hold=%s error=%r", hold_id, exc)
    await request.app[EVENTS].publish(ORDER_CONFIRMED, {**view, "broadcast_id": meta.offer.broadcast_id})
    return json_response(view, status=201)


async def _await_twin(
    request: web.Request, buyer: Principal, key: str | None, hold_id: str, digest: str, code: str
) -> Order | None:
    """The order a same-key request in flight commits (waits briefly while it is checking out)."""
    for _ in range(TWIN_WAIT_STEPS if code == "checkout_in_progress" else 1):
        previous = await _existing(request, buyer, key, hold_id, digest)
        if previous is not None:
            return previous
        if code != "checkout_in_progress":
            break
        await asyncio.sleep(0.05)
    return None


async def _settle_unsure(request: web.Request, hold_id: str) -> bool:
    """After a failed commit, PostgreSQL says whether the order exists; the hold follows. True if sold."""
    inventory = request.app[INVENTORY]
    try:
        async with request.app[DB]() as session:
            exists = (await session.execute(select(Order.id).where(Order.reservation_id == hold_id))).first()
    except (SQLAlchemyError, OSError):
        return False  # leave it checking out: the sweeper settles it from PostgreSQL after the deadline
    await inventory.settle_checkout(hold_id, "sold" if exists else "abort")
    return exists is not None


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
