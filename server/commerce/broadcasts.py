"""Broadcasts as the host manages them: create, list, start, end, pin; and the public view."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.auth import optional_user, require_host
from server.api.context import DB, EVENTS, INVENTORY, SETTINGS
from server.api.models import Shop
from server.api.openapi import Router
from server.api.seams import VIEWER_COUNT
from server.api.validation import json_response, parse_body, path_id
from server.broadcasts import Broadcast, broadcast_public, set_status
from server.commerce.auctions import end_auction
from server.commerce.coupons import active_coupons
from server.commerce.giveaways.models import Giveaway
from server.commerce.giveaways.service import close as close_giveaway
from server.commerce.models import Auction
from server.commerce.offers import end_offer, owned_broadcast, view_of
from server.commerce.pins import pinned_products
from server.commerce.report import fold_report
from server.commerce.schemas import BroadcastIn
from server.commerce.shop import shop_locale
from server.commerce.views import product_view
from server.db.base import new_id
from server.errors import DomainError, NotFound
from server.inventory.models import Offer

log = logging.getLogger("liveshop.commerce")
router = Router()


def host_view(b: Broadcast, base_url: str) -> dict[str, Any]:
    """The host's own view: with the stream key and the WHIP URL for OBS."""
    return {
        **broadcast_public(b, base_url),
        "stream_key": b.stream_key,
        "whip_url": f"{base_url}/whip/{b.id}",
    }


async def broadcast_snapshot(app: web.Application, broadcast_id: str) -> dict[str, Any]:
    """The broadcast as a viewer joining now sees it: status, pinned products (`pins`, the most recent
    first; `pinned`, v1's field, is the most recent), offers, running coupons, viewers."""
    async with app[DB]() as session:
        b = await session.get(Broadcast, broadcast_id)
        if b is None:
            raise NotFound("broadcast")
        pins = await pinned_products(session, broadcast_id)
        shop = await session.get(Shop, b.shop_id) if b.shop_id else None
        offers = (
            (
                await session.execute(
                    select(Offer)
                    .where(Offer.broadcast_id == broadcast_id)
                    .order_by(Offer.created_at.desc())
                    .limit(50)
                )
            )
            .scalars()
            .all()
        )
    inventory = app[INVENTORY]
    return {
        **broadcast_public(b, app[SETTINGS].base_url),
        "viewers": await app[VIEWER_COUNT](broadcast_id),
        "pinned": product_view(pins[0]) if pins else None,
        "pins": [product_view(p) for p in pins],
        "offers": [await view_of(inventory, o) for o in offers],
        "coupons": await active_coupons(app, broadcast_id),
        "shop": shop_locale(shop),  # the page's language when the browser asks for none of ours
    }


@router.post(
    "/api/v1/broadcasts",
    body=BroadcastIn,
    status=201,
    auth="host",
    tag="broadcasts",
    summary="Schedule a broadcast",
)
async def create_broadcast(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, BroadcastIn)
    b = Broadcast(
        id=new_id("bc"),
        shop_id=host.shop_id,
        host_id=host.id,
        title=body.title,
        status="scheduled",
        stream_key="sk_" + secrets.token_urlsafe(24),
    )
    async with request.app[DB]() as session, session.begin():
        session.add(b)
    return json_response(host_view(b, request.app[SETTINGS].base_url), status=201)


@router.get(
    "/api/v1/broadcasts",
    tag="broadcasts",
    summary="The host's shop's broadcasts (with a host token), else the live and scheduled ones",
)
async def list_broadcasts(request: web.Request) -> web.Response:
    who = optional_user(request)
    base = request.app[SETTINGS].base_url
    query = select(Broadcast).order_by(Broadcast.created_at.desc()).limit(100)
    async with request.app[DB]() as session:
        if who is not None and who.is_host:
            rows = (await session.execute(query.where(Broadcast.shop_id == who.shop_id))).scalars().all()
            return json_response({"items": [host_view(b, base) for b in rows]})
        rows = (await session.execute(query.where(Broadcast.status != "ended"))).scalars().all()
    return json_response({"items": [broadcast_public(b, base) for b in rows]})


@router.get(
    "/api/v1/broadcasts/{id}",
    tag="broadcasts",
    summary="A broadcast with pinned product and offers",
    errors=("not_found",),
)
async def get_broadcast(request: web.Request) -> web.Response:
    snapshot = await broadcast_snapshot(request.app, path_id(request))
    who = optional_user(request)
    if who is not None and who.is_host and who.shop_id == snapshot["shop_id"]:
        async with request.app[DB]() as session:
            b = await session.get(Broadcast, snapshot["id"])
        assert b is not None
        snapshot.update(host_view(b, request.app[SETTINGS].base_url))
    return json_response(snapshot)


@router.post(
    "/api/v1/broadcasts/{id}/start",
    auth="host",
    tag="broadcasts",
    summary="Go live",
    errors=("not_found", "broadcast_ended"),
)
async def start_broadcast(request: web.Request) -> web.Response:
    host = require_host(request)
    b = await set_status(request.app[DB], request.app[EVENTS], path_id(request), "live", shop_id=host.shop_id)
    return json_response(host_view(b, request.app[SETTINGS].base_url))


@router.post(
    "/api/v1/broadcasts/{id}/end",
    auth="host",
    tag="broadcasts",
    summary="End the broadcast: its running auctions end (the high bid wins), open giveaways close to "
    "entries (the host still draws), and its offers end; an auction winner's hold runs on",
    errors=("not_found",),
)
async def end_broadcast(request: web.Request) -> web.Response:
    host = require_host(request)
    broadcast_id = path_id(request)
    app = request.app
    async with app[DB]() as session:
        b = await owned_broadcast(session, broadcast_id, host)
        if b.status == "ended":
            return json_response(host_view(b, app[SETTINGS].base_url))
        running = await _running(session, broadcast_id)
    for auction_id in running.auctions:
        await end_auction(app, auction_id, force=True)
    for giveaway_id in running.giveaways:
        try:
            await close_giveaway(app, host, giveaway_id)
        except DomainError as exc:  # closed or canceled meanwhile
            log.info("giveaway not closed at the end giveaway=%s code=%s", giveaway_id, exc.code)
    async with app[DB]() as session:
        # after the auctions' ends: a winner's offer (made just now, or earlier) carries the hold the
        # winner pays through, so it runs until that hold lapses, as it would have in the show
        winners = select(Auction.offer_id).where(
            Auction.broadcast_id == broadcast_id, Auction.offer_id.is_not(None)
        )
        active = (
            await session.execute(
                select(Offer.id).where(
                    Offer.broadcast_id == broadcast_id, Offer.status == "active", Offer.id.not_in(winners)
                )
            )
        ).scalars()
        offers = list(active.all())
    for offer_id in offers:
        await end_offer(app, offer_id)
    b = await set_status(app[DB], app[EVENTS], broadcast_id, "ended", shop_id=host.shop_id)
    try:
        await fold_report(app, broadcast_id)
    except Exception as exc:  # the broadcast has ended regardless; the report folds on its next read
        log.warning("report not folded at the end broadcast=%s error=%r", broadcast_id, exc)
    return json_response(host_view(b, app[SETTINGS].base_url))


@dataclass(frozen=True, slots=True)
class _Running:
    auctions: list[str]
    giveaways: list[str]


async def _running(session: AsyncSession, broadcast_id: str) -> _Running:
    """The broadcast's auctions still taking bids and giveaways still taking entries."""
    auctions = await session.execute(
        select(Auction.id).where(Auction.broadcast_id == broadcast_id, Auction.status == "active")
    )
    giveaways = await session.execute(
        select(Giveaway.id).where(Giveaway.broadcast_id == broadcast_id, Giveaway.status == "open")
    )
    return _Running(list(auctions.scalars().all()), list(giveaways.scalars().all()))
