"""Flash offers: launch (carving units out of shelf stock), read with live counters, and end."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.auth import Principal, require_host
from server.api.context import CLOCK, DB, EVENTS, INVENTORY
from server.api.openapi import Router
from server.api.validation import json_response, parse_body, path_id
from server.broadcasts import Broadcast
from server.clock import utc
from server.commerce.rows import RowCache
from server.commerce.schemas import OfferIn
from server.commerce.shelf import take_from_shelf
from server.commerce.views import offer_view
from server.db.base import new_id
from server.errors import DomainError, NotFound
from server.events import OFFER_ENDED, OFFER_RESTOCKED, OFFER_STARTED, OFFER_STOCK, STOCK_CHANGED, EventBus
from server.inventory.engine import Counters, Inventory, OfferMissing
from server.inventory.keys import valid_offer_id
from server.inventory.models import Offer, Product
from server.inventory.rebuild import load_args, sold_by_buyer

log = logging.getLogger("liveshop.commerce")
router = Router()


@dataclass
class OfferMeta:
    """What the claim path needs to know about an offer, kept in memory on every node."""

    offer: Offer
    shop_id: str


class OfferCache(RowCache[OfferMeta]):
    """Offer rows on this node, so the claim path never waits on PostgreSQL."""

    async def read(self, session: AsyncSession, key: str) -> OfferMeta:
        if not valid_offer_id(key):
            raise NotFound("offer")
        row = (
            await session.execute(
                select(Offer, Broadcast.shop_id)
                .join(Broadcast, Broadcast.id == Offer.broadcast_id)
                .where(Offer.id == key)
            )
        ).first()
        if row is None:
            raise NotFound("offer")
        return OfferMeta(row[0], row[1])

    def put(self, offer: Offer, shop_id: str) -> None:
        self.keep(offer.id, OfferMeta(offer, shop_id))


OFFERS = web.AppKey("offer_cache", OfferCache)


async def view_of(inventory: Inventory, offer: Offer) -> dict[str, Any]:
    counters = None
    if offer.status == "active":
        try:
            counters = await inventory.counters(offer.id)
        except OfferMissing:
            counters = None
    return offer_view(offer, counters)


async def owned_broadcast(
    session: AsyncSession, broadcast_id: str, host: Principal, *, lock: bool = False
) -> Broadcast:
    """The host's shop's broadcast; another shop's is 404, as if it did not exist."""
    b = await session.get(Broadcast, broadcast_id, with_for_update=lock)
    if b is None or b.shop_id != host.shop_id:
        raise NotFound("broadcast")
    return b


@router.post(
    "/api/v1/broadcasts/{id}/offers",
    body=OfferIn,
    status=201,
    auth="host",
    tag="offers",
    summary="Launch a flash offer",
    errors=("not_found", "insufficient_stock", "broadcast_ended"),
)
async def create_offer(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, OfferIn)
    view = await launch_offer(
        request.app,
        host,
        path_id(request),
        product_id=body.product_id,
        price=body.price,
        quantity=body.quantity,
        per_buyer_limit=body.per_buyer_limit,
        verified_only=body.verified_only,
        duration_s=body.duration_s,
    )
    return json_response(view, status=201)


async def launch_offer(
    app: web.Application,
    host: Principal,
    broadcast_id: str,
    *,
    product_id: str,
    price: int | None,
    quantity: int,
    per_buyer_limit: int,
    verified_only: bool,
    duration_s: int,
    after_end: bool = False,
) -> dict[str, Any]:
    """Carves `quantity` units out of the shelf into a new offer (price None: the shelf price) and
    announces it. A flash offer needs a broadcast not yet ended; a replay offer (`after_end`) one
    that has ended: it sells from the replay through the same claim and checkout path."""
    now = utc(app[CLOCK])
    async with app[DB]() as session, session.begin():
        b = await owned_broadcast(session, broadcast_id, host)
        if b.status == "ended" and not after_end:
            raise DomainError("broadcast_ended", "Cannot launch an offer in an ended broadcast")
        if after_end and b.status != "ended":
            raise DomainError("conflict", "The broadcast is not over: launch a flash offer in it instead")
        product = await take_from_shelf(session, b.shop_id, product_id, quantity, field="quantity")
        offer = Offer(
            id=new_id("of"),
            broadcast_id=b.id,
            product_id=product.id,
            price=product.price if price is None else price,
            currency=product.currency,
            quantity=quantity,
            per_buyer_limit=per_buyer_limit,
            verified_only=verified_only,
            status="active",
            starts_at=now,
            ends_at=now + timedelta(seconds=duration_s),
        )
        session.add(offer)
    inventory = app[INVENTORY]
    await inventory.load(offer.id, load_args(offer, {}))
    app[OFFERS].put(offer, b.shop_id)
    view = offer_view(offer, Counters(offer.quantity, 0, 0))
    await app[EVENTS].publish(OFFER_STARTED, {"offer": view, "broadcast_id": b.id})
    return view


@router.get(
    "/api/v1/offers/{id}", tag="offers", summary="An offer with its live counters", errors=("not_found",)
)
async def get_offer(request: web.Request) -> web.Response:
    meta = await request.app[OFFERS].get(path_id(request))
    return json_response(await view_of(request.app[INVENTORY], meta.offer))


@router.post(
    "/api/v1/offers/{id}/end", auth="host", tag="offers", summary="End an offer early", errors=("not_found",)
)
async def end_offer_route(request: web.Request) -> web.Response:
    host = require_host(request)
    meta = await request.app[OFFERS].get(path_id(request))
    if meta.shop_id != host.shop_id:
        raise NotFound("offer")
    offer = await end_offer(request.app, meta.offer.id)
    return json_response(offer_view(offer, None))


async def end_offer(app: web.Application, offer_id: str) -> Offer:
    """End an offer once: unsold and held-but-unpaid units go back to the product's shelf stock.

    PostgreSQL's count of sold units decides, under the offer's row lock (which waits for every
    checkout in flight), and Redis is set to match inside the same lock.
    """
    inventory = app[INVENTORY]
    events = app[EVENTS]
    async with app[DB]() as session, session.begin():
        offer = await session.get(Offer, offer_id, with_for_update=True)
        if offer is None:
            raise NotFound("offer")
        if offer.status == "ended":
            return offer
        sold = sum((await sold_by_buyer(session, offer_id)).values())
        returned = offer.quantity - sold
        await session.execute(
            update(Product).where(Product.id == offer.product_id).values(stock=Product.stock + returned)
        )
        offer.status = "ended"
        offer.ended_at = utc(app[CLOCK])
        offer.returned = returned
        product = await session.get(Product, offer.product_id)
        assert product is not None
        EventBus.record(session, STOCK_CHANGED, product.sku, {"product_id": product.id, "sku": product.sku})
        await inventory.finish(offer_id, offer.quantity, sold)
    cache = app[OFFERS]
    meta = cache.peek(offer_id)
    if meta is not None:
        cache.put(offer, meta.shop_id)
    else:
        cache.drop(offer_id)  # the next read loads it with its shop
    view = offer_view(offer, None)
    await events.publish(OFFER_ENDED, {"offer": view, "broadcast_id": offer.broadcast_id}, relay=True)
    log.info("offer ended offer=%s sold=%s returned=%s", offer_id, sold, returned)
    return offer


def wire_offer_events(app: web.Application) -> None:
    """Inventory changes become `offer.stock` events; restocks and ends reach every node."""
    inventory = app[INVENTORY]
    events = app[EVENTS]
    cache = app[OFFERS]

    async def on_change(offer_id: str, counters: Counters, restock: bool) -> None:
        meta = cache.peek(offer_id)
        if meta is not None:
            await events.publish(
                OFFER_STOCK,
                {"offer": offer_view(meta.offer, counters), "broadcast_id": meta.offer.broadcast_id},
            )
        if restock:
            await events.publish(OFFER_RESTOCKED, {"offer_id": offer_id}, relay=True)

    def on_restock(event) -> None:  # type: ignore[no-untyped-def]
        if not event.is_local:
            inventory.forget_sold_out(event.data["offer_id"])

    def on_ended(event) -> None:  # type: ignore[no-untyped-def]
        if not event.is_local:
            cache.drop(event.data["offer"]["id"])
            inventory.mark_ended(event.data["offer"]["id"])

    inventory.on_change(on_change)
    events.subscribe(OFFER_RESTOCKED, on_restock)
    events.subscribe(OFFER_ENDED, on_ended)
