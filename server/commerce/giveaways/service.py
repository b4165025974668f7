"""Giveaways: start, enter, close (the list freezes and its hash is published), draw, cancel.

The prize unit leaves the product's shelf stock at the start, so it is never sold twice; the draw
puts it on a one-unit, zero-price offer, holds it for the winner through the inventory engine and
sells that hold with `sell_hold`, exactly as checkout sells any hold. Entries: Redis answers at once
(one per person, numbered; server/inventory/giveaways.py) and PostgreSQL's row is written before the
entrant hears "entered"; the close locks the giveaway's row, so it waits for the entries being
written and reads them all, and an entry that reaches the row after the close is refused.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.auth import Principal
from server.api.context import CLOCK, DB, EVENTS, INVENTORY, SETTINGS
from server.api.seams import BUYER_GUARD
from server.broadcasts import Broadcast
from server.clock import utc
from server.commerce.giveaways import fairness
from server.commerce.giveaways.models import Giveaway, GiveawayEntry
from server.commerce.giveaways.writer import EntryWriter, Row
from server.commerce.offers import end_offer
from server.commerce.rows import RowCache
from server.commerce.shelf import take_from_shelf
from server.db.base import new_id
from server.errors import CodeName, DomainError, NotFound
from server.events import GIVEAWAY
from server.inventory.giveaways import EntryBook
from server.inventory.keys import valid_offer_id
from server.inventory.models import SOLD_STATUSES, Offer, Order, Product
from server.inventory.rebuild import load_args
from server.inventory.sale import sell_hold

log = logging.getLogger("liveshop.commerce")

ENTRY_BOOK = web.AppKey("giveaway_entry_book", EntryBook)
STATE_REFUSALS: dict[str, tuple[CodeName, str]] = {
    "closed": ("giveaway_closed", "This giveaway takes no more entries"),
    "drawn": ("giveaway_drawn", "This giveaway has been drawn"),
    "canceled": ("giveaway_closed", "This giveaway was canceled"),
}


def refused(status: str | None) -> DomainError:
    """The stable refusal for acting on a giveaway that is no longer open (or already drawn)."""
    code, detail = STATE_REFUSALS.get(status or "closed", STATE_REFUSALS["closed"])
    return DomainError(code, detail)


@dataclass(frozen=True, slots=True)
class Meta:
    giveaway: Giveaway  # as this node last read or changed it
    shop_id: str


class GiveawayCache(RowCache[Meta]):
    """Giveaway rows on this node, so an entry reads PostgreSQL once (its insert), not three times.

    A row cached "open" that another node closed is still refused: by Redis first, and by the entry's
    share-locked read of the status in PostgreSQL."""

    async def read(self, session: AsyncSession, key: str) -> Meta:
        g = await load_giveaway(session, key)
        shop = await session.scalar(select(Broadcast.shop_id).where(Broadcast.id == g.broadcast_id))
        return Meta(g, str(shop))

    def put(self, g: Giveaway, shop_id: str) -> Meta:
        return self.keep(g.id, Meta(g, shop_id))


GIVEAWAYS = web.AppKey("giveaway_cache", GiveawayCache)
ENTRY_WRITER = web.AppKey("giveaway_entry_writer", EntryWriter)


@dataclass(frozen=True, slots=True)
class Entered:
    giveaway: Giveaway
    seq: int  # the entry's number in order of arrival (the frozen list's order)
    new: bool


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def giveaway_view(g: Giveaway, count: int, entrants: list[GiveawayEntry] | None = None) -> dict[str, Any]:
    """A giveaway as GET shows it (with `entrants` once closed) and the room sees it (without)."""
    winner = None
    if g.winner_id is not None and g.winner_index is not None:
        winner = {
            "user_id": g.winner_id,
            "nickname": g.winner_nickname,
            "index": g.winner_index,  # 0-based, in the frozen list
            "order_id": g.order_id,
        }
    view: dict[str, Any] = {
        "id": g.id,
        "broadcast_id": g.broadcast_id,
        "product_id": g.product_id,
        "status": g.status,
        "keyword": g.keyword,
        "buyers_only": g.buyers_only,
        "entrant_count": g.entrant_count if g.entrant_count is not None else count,
        "seed_commitment": g.seed_commitment,
        "entrants_hash": g.entrants_hash,
        "seed": g.seed if g.status == "drawn" else None,  # secret until the draw
        "winner": winner,
        "created_at": _iso(g.created_at),
        "closed_at": _iso(g.closed_at),
        "drawn_at": _iso(g.drawn_at),
    }
    if entrants is not None:
        view["entrants"] = [{"user_id": e.user_id, "nickname": e.nickname} for e in entrants]
    return view


async def frozen_list(session: AsyncSession, giveaway_id: str) -> list[GiveawayEntry]:
    """The entrants in the canonical order: entry number, then user id (ties only after a rebuild)."""
    rows = await session.execute(
        select(GiveawayEntry)
        .where(GiveawayEntry.giveaway_id == giveaway_id)
        .order_by(GiveawayEntry.seq, GiveawayEntry.user_id)
    )
    return list(rows.scalars().all())


async def load_giveaway(session: AsyncSession, giveaway_id: str, *, lock: bool = False) -> Giveaway:
    if not valid_offer_id(giveaway_id):
        raise NotFound("giveaway")
    g = await session.get(Giveaway, giveaway_id, with_for_update=lock)
    if g is None:
        raise NotFound("giveaway")
    return g


async def owned(session: AsyncSession, giveaway_id: str, host: Principal, *, lock: bool = False) -> Giveaway:
    """The host's shop's giveaway; another shop's is 404, as if it did not exist."""
    g = await load_giveaway(session, giveaway_id, lock=lock)
    shop = (await session.execute(select(Broadcast.shop_id).where(Broadcast.id == g.broadcast_id))).scalar()
    if shop is None or shop != host.shop_id:
        raise NotFound("giveaway")
    return g


async def view_of(app: web.Application, g: Giveaway, *, with_list: bool) -> dict[str, Any]:
    entrants = None
    if with_list and g.status in ("closed", "drawn"):
        async with app[DB]() as session:
            entrants = await frozen_list(session, g.id)
    count = 0
    if g.entrant_count is None:
        try:
            count = await app[ENTRY_BOOK].count(g.id)
        except Exception as exc:  # the count is a hint while entries run
            log.warning("giveaway count unavailable giveaway=%s error=%r", g.id, exc)
    return giveaway_view(g, count, entrants)


async def publish(app: web.Application, kind: str, g: Giveaway, **extra: Any) -> None:
    view = await view_of(app, g, with_list=False)
    await app[EVENTS].publish(
        GIVEAWAY, {"type": kind, "giveaway": view, "broadcast_id": g.broadcast_id, **extra}
    )


def database_loader(sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    """giveaway_load.lua's ARGV from PostgreSQL: the status and every acknowledged entry."""

    async def load(giveaway_id: str) -> list[Any] | None:
        async with sessionmaker() as session:
            g = await session.get(Giveaway, giveaway_id)
            if g is None:
                return None
            entries = await frozen_list(session, giveaway_id)
        args: list[Any] = ["open" if g.status == "open" else "closed", len(entries)]
        for e in entries:
            args += [e.user_id, e.seq]
        return args

    return load


# starting ------------------------------------------------------------------------------------------
async def start(
    app: web.Application,
    host: Principal,
    broadcast_id: str,
    product_id: str,
    keyword: str | None,
    buyers_only: bool,
) -> Giveaway:
    async with app[DB]() as session, session.begin():
        b = await session.get(Broadcast, broadcast_id)
        if b is None or b.shop_id != host.shop_id:
            raise NotFound("broadcast")
        if b.status == "ended":
            raise DomainError("broadcast_ended", "Cannot start a giveaway in an ended broadcast")
        product = await take_from_shelf(session, b.shop_id, product_id, 1, field="product_id")
        seed = fairness.new_seed()
        g = Giveaway(
            id=new_id("gw"),
            broadcast_id=b.id,
            product_id=product.id,
            keyword=keyword,
            buyers_only=buyers_only,
            status="open",
            seed=seed.hex(),
            seed_commitment=fairness.commitment(seed),
            created_at=utc(app[CLOCK]),
        )
        session.add(g)
    await app[ENTRY_BOOK].load(g.id, ["open", 0])
    app[GIVEAWAYS].put(g, b.shop_id)
    await publish(app, "started", g)
    log.info("giveaway started giveaway=%s broadcast=%s", g.id, g.broadcast_id)
    return g


# entering ------------------------------------------------------------------------------------------
async def _bought_here(session: AsyncSession, broadcast_id: str, user_id: str) -> bool:
    """A paid or confirmed order from one of this broadcast's offers (giveaway prizes do not count)."""
    prizes = select(Giveaway.offer_id).where(Giveaway.offer_id.is_not(None))
    query = select(
        exists().where(
            Order.buyer_id == user_id,
            Order.status.in_(SOLD_STATUSES),
            Order.offer_id == Offer.id,
            Offer.broadcast_id == broadcast_id,
            Order.offer_id.not_in(prizes),
        )
    )
    return bool((await session.execute(query)).scalar())


async def enter(app: web.Application, user: Principal, giveaway_id: str, via: str) -> Entered:
    """One entry per person: a repeat answers with the first entry's number and changes nothing."""
    meta = await app[GIVEAWAYS].get(giveaway_id)
    g = meta.giveaway
    if user.is_host and user.shop_id == meta.shop_id:
        raise DomainError("forbidden", "A shop does not enter its own giveaway")
    if g.status != "open":
        raise refused(g.status)
    if g.buyers_only:
        async with app[DB]() as session:
            if not await _bought_here(session, g.broadcast_id, user.id):
                raise DomainError("buyers_only", "Only viewers who bought in this broadcast may enter")
    await app[BUYER_GUARD](g.broadcast_id, user.id)
    entry = await app[ENTRY_BOOK].enter(g.id, user.id)
    if entry.code == "closed":
        raise refused("closed")
    seq, new = await app[ENTRY_WRITER].write(g.id, Row(user.id, user.nickname, entry.seq, via))
    return Entered(g, seq, new)


async def _seq(session: AsyncSession, giveaway_id: str, user_id: str) -> int | None:
    """The entry's number, as recorded (a repeat answers with the first entry's); None if not in."""
    seq = (
        await session.execute(
            select(GiveawayEntry.seq).where(
                GiveawayEntry.giveaway_id == giveaway_id, GiveawayEntry.user_id == user_id
            )
        )
    ).scalar_one_or_none()
    return None if seq is None else int(seq)


# closing, drawing, canceling -----------------------------------------------------------------------
async def close(app: web.Application, host: Principal, giveaway_id: str) -> Giveaway:
    """Freeze the list: its hash is published now, before the seed is revealed by the draw."""
    async with app[DB]() as session:
        await owned(session, giveaway_id, host)  # 404 for another shop's, before touching Redis
    await app[ENTRY_BOOK].close(giveaway_id)
    async with app[DB]() as session, session.begin():
        g = await owned(session, giveaway_id, host, lock=True)
        if g.status != "open":
            raise refused(g.status)
        entrants = await frozen_list(session, g.id)
        g.status = "closed"
        g.closed_at = utc(app[CLOCK])
        g.entrants_hash = fairness.entrants_hash(e.user_id for e in entrants)
        g.entrant_count = len(entrants)
    app[GIVEAWAYS].put(g, str(host.shop_id))
    await publish(app, "closed", g)
    log.info("giveaway closed giveaway=%s entrants=%d hash=%s", g.id, g.entrant_count, g.entrants_hash)
    return g


async def cancel(app: web.Application, host: Principal, giveaway_id: str) -> Giveaway:
    """Call it off before the draw (e.g. nobody entered): the prize unit goes back to the shelf."""
    await app[ENTRY_BOOK].close(giveaway_id)
    async with app[DB]() as session, session.begin():
        g = await owned(session, giveaway_id, host, lock=True)
        if g.status in ("drawn", "canceled"):
            raise refused(g.status)
        if g.entrant_count is None:
            g.entrant_count = len(await frozen_list(session, g.id))
        g.status = "canceled"
        g.closed_at = g.closed_at or utc(app[CLOCK])
        await session.execute(
            update(Product).where(Product.id == g.product_id).values(stock=Product.stock + 1)
        )
    app[GIVEAWAYS].put(g, str(host.shop_id))
    await app[ENTRY_BOOK].drop(g.id)
    await publish(app, "canceled", g)
    return g


async def draw(app: web.Application, host: Principal, giveaway_id: str) -> Giveaway:
    """Reveal the seed, pick the winner from the frozen list, give them the unit as a zero-price order.

    The prize offer is held for the winner in Redis before its row commits, so nobody else can claim
    the zero-price unit in between (its id is public only once the hold is the winner's). A draw that
    died half-way (after the commit, before the order) finishes on the next call with the same winner;
    a complete one answers `giveaway_drawn`."""
    now = utc(app[CLOCK])
    inventory = app[INVENTORY]
    announce = False
    prepared: str | None = None
    try:
        async with app[DB]() as session, session.begin():
            g = await owned(session, giveaway_id, host, lock=True)
            if g.status == "open":
                raise DomainError(
                    "giveaway_open", "Close the giveaway first: its list must be public before the draw"
                )
            if g.status == "canceled" or (g.status == "drawn" and g.order_id is not None):
                raise refused(g.status)
            if g.status == "closed":
                entrants = await frozen_list(session, g.id)
                if not entrants:
                    raise DomainError(
                        "no_entrants", "Nobody entered; cancel the giveaway to restock the unit"
                    )
                list_hash = fairness.entrants_hash(e.user_id for e in entrants)
                if list_hash != g.entrants_hash:  # the rows changed after the close: never draw from them
                    log.error("giveaway list changed after its close giveaway=%s", g.id)
                    raise DomainError("conflict", "The entrant list does not match its published hash")
                index = fairness.winner_index(bytes.fromhex(g.seed), list_hash, len(entrants))
                winner = entrants[index]
                product = await session.get(Product, g.product_id)
                assert product is not None
                offer = Offer(
                    id=f"of_{g.id}",  # one prize offer per giveaway, whichever draw call makes it
                    broadcast_id=g.broadcast_id,
                    product_id=g.product_id,
                    price=0,
                    currency=product.currency,
                    quantity=1,
                    per_buyer_limit=1,
                    status="active",
                    starts_at=now,
                    # the window closes as the winner's hold would expire: the unit is never up for grabs
                    ends_at=now + timedelta(seconds=app[SETTINGS].hold_seconds + 1),
                )
                # Redis first, under the giveaway's row lock: the unit is the winner's before the offer
                # exists for anyone else (a twin draw replays the same keyed hold).
                prepared = offer.id
                await inventory.load(offer.id, load_args(offer, {}))
                await inventory.reserve(offer.id, winner.user_id, 1, f"giveaway:{g.id}", "1")
                session.add(offer)
                g.status, g.drawn_at, g.offer_id = "drawn", now, offer.id
                g.winner_id, g.winner_nickname, g.winner_index = winner.user_id, winner.nickname, index
                announce = True
    except BaseException:
        if prepared is not None:  # the row never committed: leave no prize offer for the sweeper
            try:
                await inventory.drop_active(prepared)
            except Exception as exc:
                log.warning("prize offer not dropped offer=%s error=%r", prepared, exc)
        raise
    app[GIVEAWAYS].put(g, str(host.shop_id))
    await _give(app, g)
    try:
        await app[ENTRY_BOOK].drop(g.id)
    except Exception as exc:  # only the fast path's keys; PostgreSQL is closed already
        log.warning("giveaway keys not dropped giveaway=%s error=%r", g.id, exc)
    if announce or g.order_id is not None:
        await publish(app, "drawn", g, winner_id=g.winner_id, order_id=g.order_id)
    log.info("giveaway drawn giveaway=%s winner=%s order=%s", g.id, g.winner_id, g.order_id)
    return g


async def _give(app: web.Application, g: Giveaway) -> None:
    """The winner's hold of the unit (keyed: a second pass replays it), sold at once at price zero."""
    assert g.offer_id is not None and g.winner_id is not None
    inventory, db = app[INVENTORY], app[DB]
    async with db() as session:
        offer = await session.get(Offer, g.offer_id)
    assert offer is not None
    await inventory.load(offer.id, load_args(offer, {}))
    key = f"giveaway:{g.id}"
    claim = await inventory.reserve(offer.id, g.winner_id, 1, key, "1")
    order_id: str | None = None
    if claim.code in ("ok", "replay"):
        nickname = g.winner_nickname or ""

        def make_order(offer: Offer, product: Product, quantity: int) -> Order:
            return Order(
                id=new_id("or"),
                shop_id=product.shop_id,
                channel="liveshop",
                offer_id=offer.id,
                product_id=product.id,
                reservation_id=claim.hold_id,
                buyer_id=g.winner_id,
                buyer={"name": nickname, "giveaway_id": g.id},
                quantity=quantity,
                unit_price=0,
                total=0,
                currency=offer.currency,
                status="confirmed",
                idempotency_key=key,
            )

        try:
            order_id = (
                await sell_hold(db, inventory, claim.hold_id, g.winner_id, make_order, events=app[EVENTS])
            ).order.id
        except (DomainError, IntegrityError) as exc:  # sold by an earlier pass: its order stands
            log.info("giveaway prize sold before giveaway=%s answer=%r", g.id, exc)
    if order_id is None:
        async with db() as session:
            order_id = (
                await session.execute(
                    select(Order.id).where(Order.buyer_id == g.winner_id, Order.idempotency_key == key)
                )
            ).scalar_one_or_none()
    if order_id is None:
        log.warning("giveaway prize not given yet giveaway=%s answer=%s", g.id, claim.code)
        raise DomainError(
            "service_unavailable", "The prize order could not be made yet; draw again to finish"
        )
    async with db() as session, session.begin():
        await session.execute(update(Giveaway).where(Giveaway.id == g.id).values(order_id=order_id))
    g.order_id = order_id
    try:  # sold: the prize offer ends at once (nothing goes back), so no room shows it as on sale
        await end_offer(app, g.offer_id)
    except Exception as exc:  # the sweeper ends it when its window closes
        log.warning("prize offer not ended offer=%s error=%r", g.offer_id, exc)


class CountAnnouncer:
    """The room's live entrant count: at most one `entries` event per giveaway per second per node,
    however many entries arrive (thousands of buyers must not mean thousands of room frames)."""

    def __init__(self, app: web.Application, every_s: float = 1.0) -> None:
        self.app = app
        self.every_s = every_s
        self._due: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()  # referenced until done (asyncio keeps weak refs)

    def entered(self, g: Giveaway) -> None:
        if g.id in self._due:
            return
        self._due.add(g.id)
        loop = asyncio.get_running_loop()
        loop.call_later(self.every_s, self._start, g)

    def _start(self, g: Giveaway) -> None:
        task = asyncio.ensure_future(self._announce(g))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self, g: Giveaway) -> None:
        self._due.discard(g.id)
        try:
            async with self.app[DB]() as session:
                fresh = await load_giveaway(session, g.id)
            if fresh.status == "open":
                await publish(self.app, "entries", fresh)
        except Exception as exc:  # a count is a hint; the next entry announces again
            log.warning("giveaway count not announced giveaway=%s error=%r", g.id, exc)


COUNTS = web.AppKey("giveaway_counts", CountAnnouncer)
