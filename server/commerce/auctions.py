"""Auctions: a host starts one for a unit of a product; viewers bid; the winner holds that unit.

A bid is one atomic Lua step (server/inventory/lua/bid.lua) and, once accepted, a row in
`auction_bids` before it is acknowledged: an acknowledged bid survives the loss of Redis (the state is
rebuilt from the rows). What a Redis loss can lose: the Idempotency-Keys of refused bids (a retry is
judged again; a refusal changed nothing) and a bid Redis accepted whose row could not be written (its
bidder got 503, never a 201; a retry with the same key writes the row).

The unit is carved out of the product's shelf stock at the start. At the end, PostgreSQL's highest
bid wins: a one-unit offer at the winning price carries the winner's hold, so checkout sells it like
any hold (the order total is the high bid); with no bids the unit goes back to the shelf.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.auth import require_host, require_user
from server.api.context import CLOCK, DB, EVENTS, INVENTORY, SETTINGS
from server.api.openapi import Router
from server.api.seams import BUYER_GUARD
from server.api.validation import idempotency_key, json_response, parse_body, path_id
from server.broadcasts import Broadcast
from server.clock import now_ms, utc
from server.commerce.models import Auction, AuctionBid
from server.commerce.offers import owned_broadcast
from server.commerce.rows import RowCache
from server.commerce.schemas import AuctionIn, BidIn
from server.commerce.shelf import take_from_shelf
from server.db.base import new_id
from server.errors import Code, DomainError, NotFound
from server.events import AUCTION, Event
from server.inventory.auctions import AuctionBook, AuctionState, BidResult, body_hash
from server.inventory.keys import valid_offer_id
from server.inventory.models import HELD_STATUSES, SOLD_STATUSES, Offer, Order, Product
from server.inventory.rebuild import load_args

log = logging.getLogger("liveshop.commerce")
router = Router()

AUCTION_BOOK = web.AppKey("auction_book", AuctionBook)
REFUSED = {
    "bid_too_low": "Bid at least the minimum bid",
    "already_high_bidder": "You already hold the high bid",
    "auction_ended": "This auction has ended",
    "idempotency_key_reused": "This Idempotency-Key was used with another request body",
}


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@dataclass
class AuctionMeta:
    auction: Auction
    host_id: str


class AuctionCache(RowCache[AuctionMeta]):
    """Auction rows on this node, so a bid never waits on PostgreSQL before Redis answers."""

    async def read(self, session: AsyncSession, key: str) -> AuctionMeta:
        if not valid_offer_id(key):
            raise NotFound("auction")
        row = (
            await session.execute(
                select(Auction, Broadcast.host_id)
                .join(Broadcast, Broadcast.id == Auction.broadcast_id)
                .where(Auction.id == key)
            )
        ).first()
        if row is None:
            raise NotFound("auction")
        return AuctionMeta(row[0], row[1])

    def put(self, auction: Auction, host_id: str) -> None:
        self.keep(auction.id, AuctionMeta(auction, host_id))


AUCTIONS = web.AppKey("auction_cache", AuctionCache)


def auction_view(a: Auction, state: AuctionState, now: int) -> dict[str, Any]:
    """An auction as GET shows it and room events carry it."""
    closes_at = state.ends_at_ms + state.sudden_ms
    running = state.status == "active" and not state.decided and now < closes_at and a.status == "active"
    high = state.high or None
    high_bidder = None
    if state.bids:
        top = state.bids[0]
        high_bidder = {"id": top.bidder_id, "nickname": top.nickname}
    winner = None
    if a.winner_id is not None:
        winner = {
            "user_id": a.winner_id,
            "reservation_id": a.reservation_id,
            "amount": a.winning_bid,
            # the winner before did not pay in time: this one holds the second-chance offer
            "second_chance": bool(a.passed_over),
        }
    return {
        "id": a.id,
        "broadcast_id": a.broadcast_id,
        "product_id": a.product_id,
        "status": "active" if running else "ended",
        "currency": a.currency,
        "starting_bid": a.starting_bid,
        "increment": a.increment,
        "anti_snipe_s": a.anti_snipe_s,
        # sudden death: after `ends_at` the first accepted bid before `closes_at` wins at once
        "sudden_death_s": a.sudden_death_s,
        "sudden_death": running and a.sudden_death_s is not None and now >= state.ends_at_ms,
        "min_bid": a.starting_bid if high is None else high + a.increment,
        # null without a reserve price; the price itself stays the host's
        "reserve_met": None if a.reserve_price is None else (high or 0) >= a.reserve_price,
        "high_bid": high,
        "high_bidder": high_bidder,
        "bid_count": state.bid_count,
        "bids": [
            {
                "id": b.id,
                "amount": b.amount,
                "bidder": {"id": b.bidder_id, "nickname": b.nickname},
                "at": _iso_ms(b.at_ms),
            }
            for b in state.bids
        ],
        "ends_at": _iso_ms(state.ends_at_ms),
        "closes_at": _iso_ms(closes_at),
        "winner": winner,
    }


async def _view(app: web.Application, auction: Auction) -> dict[str, Any]:
    state = await app[AUCTION_BOOK].state(auction.id)
    if state.status != "active" and auction.status == "active":  # ended, maybe by another node
        auction = (await app[AUCTIONS].get(auction.id, fresh=True)).auction
    return auction_view(auction, state, now_ms(app[CLOCK]))


# Events that follow a change to the auction's row (its end, a new winner or hold): they reach every
# node, and the others drop their cached row, so any node's GET shows the winner whichever node set it.
ROW_CHANGES = ("ended", "second_chance")


async def _publish(
    app: web.Application, kind: str, view: dict[str, Any], outbid: str = "", second_chance: str = ""
) -> None:
    data = {"type": kind, "auction": view, "broadcast_id": view["broadcast_id"], "outbid": outbid}
    if second_chance:
        data["second_chance"] = second_chance
    await app[EVENTS].publish(AUCTION, data, relay=kind in ROW_CHANGES)


def wire_auction_events(app: web.Application) -> None:
    """Another node ended an auction or moved its win to the runner-up: this node's row is stale."""
    cache = app[AUCTIONS]

    def on_auction(event: Event) -> None:
        if not event.is_local and event.data.get("type") in ROW_CHANGES:
            cache.drop(event.data["auction"]["id"])

    app[EVENTS].subscribe(AUCTION, on_auction)


def database_loader(sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    """auction_load.lua's ARGV from PostgreSQL: the auction and every bid it acknowledged."""

    async def load(auction_id: str) -> list[Any] | None:
        async with sessionmaker() as session:
            auction = await session.get(Auction, auction_id)
            if auction is None:
                return None
            bids = (
                (
                    await session.execute(
                        select(AuctionBid)
                        .where(AuctionBid.auction_id == auction_id)
                        .order_by(AuctionBid.amount, AuctionBid.at_ms)
                    )
                )
                .scalars()
                .all()
            )
        ends_at = max([_ms(auction.ends_at)] + [b.ends_at_ms for b in bids])
        args: list[Any] = [
            auction.status,
            auction.starting_bid,
            auction.increment,
            ends_at,
            auction.anti_snipe_s * 1000,
            (auction.sudden_death_s or 0) * 1000,
            len(bids),
        ]
        for b in bids:
            fingerprint = body_hash(0 if b.max_amount else b.amount, b.max_amount or 0)
            args += [b.id, b.amount, b.at_ms, b.bidder_id, b.nickname, b.idempotency_key or "", fingerprint]
            args += [b.ends_at_ms, b.raised_max or b.max_amount or b.amount]
        return args

    return load


@router.post(
    "/api/v1/broadcasts/{id}/auctions",
    body=AuctionIn,
    status=201,
    auth="host",
    tag="auctions",
    summary="Start an auction for one unit of a product",
    errors=("not_found", "insufficient_stock", "broadcast_ended"),
)
async def create_auction(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, AuctionIn)
    if body.sudden_death_s is not None and body.anti_snipe_s:
        detail = "A sudden-death auction never extends its time: leave anti_snipe_s at 0"
        raise DomainError("validation_error", detail, field="anti_snipe_s")
    broadcast_id = path_id(request)
    app = request.app
    now = utc(app[CLOCK])
    async with app[DB]() as session, session.begin():
        b = await owned_broadcast(session, broadcast_id, host)
        if b.status == "ended":
            raise DomainError("broadcast_ended", "Cannot start an auction in an ended broadcast")
        product = await take_from_shelf(session, b.shop_id, body.product_id, 1, field="product_id")
        auction = Auction(
            id=new_id("au"),
            broadcast_id=b.id,
            product_id=product.id,
            currency=product.currency,
            starting_bid=body.starting_bid,
            increment=body.increment,
            anti_snipe_s=body.anti_snipe_s,
            reserve_price=body.reserve_price,
            sudden_death_s=body.sudden_death_s,
            passed_over=[],
            status="active",
            ends_at=now + timedelta(seconds=body.duration_s),
        )
        session.add(auction)
    app[AUCTIONS].put(auction, host.id)
    book = app[AUCTION_BOOK]
    anti_snipe_ms, sudden_ms = auction.anti_snipe_s * 1000, (auction.sudden_death_s or 0) * 1000
    first = ["active", auction.starting_bid, auction.increment, _ms(auction.ends_at), anti_snipe_ms]
    await book.load(auction.id, [*first, sudden_ms, 0])
    view = await _view(app, auction)
    await _publish(app, "started", view)
    return json_response(view, status=201)


@router.get(
    "/api/v1/auctions/{id}",
    tag="auctions",
    summary="An auction with its bids, newest first",
    errors=("not_found",),
)
async def get_auction(request: web.Request) -> web.Response:
    meta = await request.app[AUCTIONS].get(path_id(request))
    return json_response(await _view(request.app, meta.auction))


@router.get(
    "/api/v1/broadcasts/{id}/auctions",
    tag="auctions",
    summary="A broadcast's auctions, newest first (?status=active for the running ones)",
    errors=("not_found",),
)
async def list_auctions(request: web.Request) -> web.Response:
    """What a watch page or the console opened mid-auction needs to show it at once."""
    app = request.app
    broadcast_id = path_id(request)
    status = request.query.get("status")
    if status not in (None, "active", "ended"):
        raise DomainError("validation_error", "status is active or ended", field="status")
    async with app[DB]() as session:
        if await session.get(Broadcast, broadcast_id) is None:
            raise NotFound("broadcast")
        query = select(Auction).where(Auction.broadcast_id == broadcast_id)
        if status is not None:
            query = query.where(Auction.status == status)
        rows = (await session.execute(query.order_by(Auction.created_at.desc()).limit(20))).scalars().all()
    items = [await _view(app, a) for a in rows]
    if status is not None:  # Redis may know of an end PostgreSQL has not recorded yet
        items = [v for v in items if v["status"] == status]
    return json_response({"items": items})


@router.post(
    "/api/v1/auctions/{id}/end",
    auth="host",
    tag="auctions",
    summary="End an auction now (the host's stop): the high bid so far wins",
    errors=("not_found",),
)
async def stop_auction(request: web.Request) -> web.Response:
    host = require_host(request)
    app = request.app
    meta = await app[AUCTIONS].get(path_id(request))
    async with app[DB]() as session:
        await owned_broadcast(session, meta.auction.broadcast_id, host)  # another shop's: 404
    ended = await end_auction(app, meta.auction.id, force=True)
    assert ended is not None
    return json_response(await _view(app, ended))


@router.post(
    "/api/v1/auctions/{id}/bids",
    body=BidIn,
    status=201,
    auth="user",
    idempotent=True,
    tag="auctions",
    summary="Bid on an auction: a plain bid, or a max bid the server bids with up to the max",
    errors=(
        "not_found",
        "bid_too_low",
        "already_high_bidder",
        "auction_ended",
        "idempotency_key_reused",
        "forbidden",
        "banned",
        "service_unavailable",
    ),
)
async def place_bid(request: web.Request) -> web.Response:
    app = request.app
    bidder = require_user(request)
    body = await parse_body(request, BidIn)
    if (body.amount is None) == (body.max_amount is None):
        detail = "Give either amount (a bid) or max_amount (the most the server may bid for you)"
        raise DomainError("validation_error", detail, field="amount")
    key = idempotency_key(request)
    meta = await app[AUCTIONS].get(path_id(request))
    auction = meta.auction
    if bidder.id == meta.host_id:
        raise DomainError("forbidden", "A host does not bid in its own auction")
    await app[BUYER_GUARD](auction.broadcast_id, bidder.id)
    book = app[AUCTION_BOOK]
    result = await book.bid(
        auction.id,
        bidder.id,
        bidder.nickname,
        body.amount or 0,
        new_id("bd"),
        key or "",
        max_amount=body.max_amount or 0,
    )
    if result.code not in ("ok", "replay", "raised"):
        error = DomainError(Code(result.code), REFUSED[result.code])
        if result.code in ("bid_too_low", "already_high_bidder"):
            error.extra["min_bid"] = result.min_bid
        raise error
    await _record(app[DB], auction.id, bidder.id, key, result)
    if result.decided:  # the sudden death's deciding bid is written: it ends the auction now
        await _publish(app, "bid", await _view(app, auction), result.outbid)
        await end_auction(app, auction.id, force=True)
    view = await _view(app, auction)
    if result.code == "ok" and not result.decided:
        await _publish(app, "extended" if result.extended else "bid", view, result.outbid)
    headers = {"Idempotent-Replayed": "true"} if result.code == "replay" else None
    return json_response(bid_answer(result, view), status=201, headers=headers)


def bid_answer(result: BidResult, view: dict[str, Any]) -> dict[str, Any]:
    """The bidder's own answer: their bid (id null when the step recorded none of theirs: a raised
    max, or a max of the high bidder's that beat theirs), whether they lead, and their own max."""
    own = result.leading and not result.raised
    return {
        "id": result.bid_id if own else None,
        "amount": result.amount if own else None,
        "leading": result.leading,
        "max_amount": result.your_max or None,
        "auction": view,
    }


async def _record(
    db: async_sessionmaker[AsyncSession],
    auction_id: str,
    requester: str,
    key: str | None,
    result: BidResult,
) -> None:
    """The accepted bid's row (or a raised max), before the bidder hears "accepted" (a replay writes
    it if its first attempt could not); `auction_ended` if the end came between Redis's yes and this
    write. A bid the server placed for the high bidder's max is theirs, without the requester's key."""
    row = AuctionBid(
        id=result.bid_id,
        auction_id=auction_id,
        bidder_id=result.bidder,
        nickname=result.nickname,
        amount=result.amount,
        at_ms=result.at_ms,
        ends_at_ms=result.ends_at_ms,
        idempotency_key=key if result.leading else None,
        # a plain bid's max is its amount (None); a max bid's, or the high bidder's behind a bid the
        # server placed for them, is kept (private) for the rebuild
        max_amount=result.your_max or (None if result.leading else result.bidder_max) or None,
    )
    try:
        async with db() as session, session.begin():
            # FOR SHARE: the end takes the row FOR UPDATE, so it waits for every bid being written
            # and reads them all; a bid that reaches the row after the end is refused, unacknowledged.
            status = (
                await session.execute(
                    select(Auction.status).where(Auction.id == auction_id).with_for_update(read=True)
                )
            ).scalar_one_or_none()
            existing = await session.get(AuctionBid, result.bid_id) if result.code != "ok" else None
            if existing is not None:
                if result.raised and existing.bidder_id == requester:
                    held = existing.raised_max or existing.max_amount or existing.amount
                    if result.your_max > held and status == "active":
                        existing.raised_max = result.your_max  # the raise, durable before its answer
                return
            if status != "active":
                raise DomainError("auction_ended", REFUSED["auction_ended"])
            session.add(row)
    except IntegrityError:
        return  # a twin of this replay wrote it
    except (SQLAlchemyError, OSError) as exc:
        log.warning("bid not recorded auction=%s bid=%s error=%r", auction_id, result.bid_id, exc)
        detail = "Your bid could not be saved; retry with the same key"
        raise DomainError("service_unavailable", detail) from exc


# ending --------------------------------------------------------------------------------------------
async def end_auction(app: web.Application, auction_id: str, *, force: bool = False) -> Auction | None:
    """End the auction if its time is up (or now, with force); None while it still runs.

    Idempotent: a pass that died half-way (after the commit, before the hold) finishes the hold."""
    closed = await app[AUCTION_BOOK].close(auction_id, force=force)
    if not closed.ended:
        return None
    now = utc(app[CLOCK])
    announce = False
    top: AuctionBid | None = None
    best_id = ""  # PostgreSQL's highest bid, met reserve or not
    async with app[DB]() as session, session.begin():
        auction = await session.get(Auction, auction_id, with_for_update=True)
        if auction is None:
            raise NotFound("auction")
        if auction.status == "active":
            announce = True
            top = (
                await session.execute(
                    select(AuctionBid)
                    .where(AuctionBid.auction_id == auction_id)
                    .order_by(AuctionBid.amount.desc(), AuctionBid.at_ms)
                    .limit(1)
                )
            ).scalar_one_or_none()
            auction.status = "ended"
            auction.ended_at = now
            best_id = top.id if top is not None else ""
            if top is not None and auction.reserve_price is not None and top.amount < auction.reserve_price:
                top = None  # the reserve was not met: no sale
            if top is None:
                await session.execute(
                    update(Product).where(Product.id == auction.product_id).values(stock=Product.stock + 1)
                )
            else:
                offer = _winner_offer(app, auction, top.amount, now)
                session.add(offer)
                auction.winner_id, auction.winning_bid, auction.offer_id = top.bidder_id, top.amount, offer.id
    if announce and best_id != closed.high_bid_id:
        log.warning("auction's high bid in Redis was never recorded auction=%s", auction_id)
        await app[AUCTION_BOOK].reset(auction_id)
    if auction.winner_id is not None and auction.reservation_id is None:
        await _hold_for_winner(app, auction)
    await _refresh(app, auction)
    if announce:
        await _publish(app, "ended", await _view(app, auction))
        log.info("auction ended auction=%s winner=%s", auction_id, auction.winner_id)
    return auction


async def _hold_for_winner(app: web.Application, auction: Auction) -> None:
    """The winner's hold of the one unit, on the auction's offer (keyed, so a second pass replays it)."""
    assert auction.offer_id is not None and auction.winner_id is not None
    inventory = app[INVENTORY]
    async with app[DB]() as session:
        offer = await session.get(Offer, auction.offer_id)
    assert offer is not None
    await inventory.load(offer.id, load_args(offer, {}))
    rounds = len(auction.passed_over or [])  # each second chance is its own hold, its own key
    hold_key = f"auction:{auction.id}" + (f":{rounds}" if rounds else "")
    claim = await inventory.reserve(offer.id, auction.winner_id, 1, hold_key, "1")
    if claim.code not in ("ok", "replay"):
        log.warning("winner's hold refused auction=%s answer=%s", auction.id, claim.code)
        return
    closes = datetime.fromtimestamp(claim.expires_ms / 1000, UTC)
    async with app[DB]() as session, session.begin():
        await session.execute(
            update(Auction).where(Auction.id == auction.id).values(reservation_id=claim.hold_id)
        )
        # the offer closes as the hold does, however long the hold took to make: never before (the
        # winner would lose paid-for time), never after (they could claim the unit again)
        await session.execute(update(Offer).where(Offer.id == offer.id).values(ends_at=closes))
    await inventory.move_window(offer.id, claim.expires_ms)
    auction.reservation_id = claim.hold_id


async def _refresh(app: web.Application, auction: Auction) -> None:
    cache = app[AUCTIONS]
    meta = await cache.get(auction.id)
    cache.put(auction, meta.host_id)


# the second chance ----------------------------------------------------------------------------------
async def unpaid_auctions(session: AsyncSession) -> list[str]:
    """Ended auctions whose winner's offer ended (the hold expired) with no order for it."""
    ordered = select(Order.offer_id).where(
        Order.offer_id == Auction.offer_id, Order.status.in_(SOLD_STATUSES + HELD_STATUSES)
    )
    rows = await session.execute(
        select(Auction.id)
        .join(Offer, Offer.id == Auction.offer_id)
        .where(Auction.status == "ended", Offer.status == "ended", ~ordered.exists())
    )
    return list(rows.scalars().all())


async def offer_second_chance(app: web.Application, auction_id: str) -> Auction | None:
    """The winner did not pay in time: the runner-up (the highest bidder not yet passed over, at
    their own highest bid, if it meets the reserve) holds the unit, and hears it alone; with no
    runner-up the unit stays on the shelf (the ended offer returned it) and the auction has no winner.
    Idempotent: under the auction's row lock, only while its current winner's offer ended unsold."""
    now = utc(app[CLOCK])
    async with app[DB]() as session, session.begin():
        auction = await session.get(Auction, auction_id, with_for_update=True)
        if auction is None or auction.winner_id is None or auction_id not in await unpaid_auctions(session):
            return None
        passed = [*(auction.passed_over or []), auction.winner_id]
        runner: AuctionBid | None = (
            await session.execute(
                select(AuctionBid)
                .where(AuctionBid.auction_id == auction_id, AuctionBid.bidder_id.not_in(passed))
                .order_by(AuctionBid.amount.desc(), AuctionBid.at_ms)
                .limit(1)
            )
        ).scalar_one_or_none()
        if runner is not None and auction.reserve_price is not None and runner.amount < auction.reserve_price:
            runner = None
        taken = 0
        if runner is not None:  # the unit the ended offer gave back to the shelf
            taken = (
                await session.execute(
                    update(Product)
                    .where(Product.id == auction.product_id, Product.stock >= 1)
                    .values(stock=Product.stock - 1)
                )
            ).rowcount  # type: ignore[attr-defined]
        auction.passed_over = passed
        auction.reservation_id = None
        if runner is None or taken != 1:
            auction.winner_id = auction.winning_bid = auction.offer_id = None
        else:
            offer = _winner_offer(app, auction, runner.amount, now)
            session.add(offer)
            auction.winner_id, auction.winning_bid = runner.bidder_id, runner.amount
            auction.offer_id = offer.id
    if auction.winner_id is not None:
        await _hold_for_winner(app, auction)
    await _refresh(app, auction)
    view = await _view(app, auction)
    await _publish(app, "second_chance", view, second_chance=auction.winner_id or "")
    log.info("second chance auction=%s runner_up=%s passed=%s", auction_id, auction.winner_id, passed)
    return auction


def _winner_offer(app: web.Application, auction: Auction, price: int, now: datetime) -> Offer:
    """The one-unit offer at the winning price that carries the winner's hold; its window is moved to
    close exactly as the hold expires once the hold is made (`_hold_for_winner`), so the unit is
    never up for grabs."""
    return Offer(
        id=new_id("of"),
        broadcast_id=auction.broadcast_id,
        product_id=auction.product_id,
        price=price,
        currency=auction.currency,
        quantity=1,
        per_buyer_limit=1,
        status="active",
        starts_at=now,
        ends_at=now + timedelta(seconds=app[SETTINGS].hold_seconds + 1),
    )


async def end_due_auctions(app: web.Application) -> None:
    """The sweeper's pass over auctions: each one whose time is up (by the node's clock) ends, and
    each whose winner let the hold expire offers the unit to the runner-up."""
    async with app[DB]() as session:
        ids = list(
            (await session.execute(select(Auction.id).where(Auction.status == "active"))).scalars().all()
        )
        unfinished = list(
            (
                await session.execute(
                    select(Auction.id).where(
                        Auction.status == "ended",
                        Auction.winner_id.is_not(None),
                        Auction.reservation_id.is_(None),
                    )
                )
            )
            .scalars()
            .all()
        )
        unpaid = await unpaid_auctions(session)
    for auction_id in ids + unfinished:
        try:
            await end_auction(app, auction_id)
        except Exception:
            log.exception("auction end failed auction=%s", auction_id)
    for auction_id in unpaid:
        try:
            await offer_second_chance(app, auction_id)
        except Exception:
            log.exception("second chance failed auction=%s", auction_id)
