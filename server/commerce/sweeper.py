"""The background keeper of offers: returns expired holds, settles stuck checkouts from PostgreSQL,
ends offers and auctions whose time is up, and reloads counters Redis has lost. Every node runs it;
each step is atomic or idempotent, so they never fight."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import select

from server.api.context import CLOCK, DB, INVENTORY, SETTINGS
from server.api.seams import PAYMENTS
from server.clock import now_ms
from server.commerce.auctions import end_due_auctions
from server.commerce.offers import end_offer
from server.inventory.engine import OfferMissing
from server.inventory.models import HELD_STATUSES, SOLD_STATUSES, Offer, Order
from server.tasks import stop_task

log = logging.getLogger("liveshop.inventory")
RESYNC_EVERY_S = 5.0


async def settle_stale_checkouts(app: web.Application, offer_id: str, hold_ids: list[str]) -> None:
    """Checkouts past their deadline: the order in PostgreSQL (or its absence) decides, under the lock.
    A sold order's hold is sold; one awaiting payment keeps its units until its payment deadline; no
    order (or a canceled one) gives them back."""
    inventory = app[INVENTORY]
    seam = app.get(PAYMENTS)
    async with app[DB]() as session, session.begin():
        await session.get(Offer, offer_id, with_for_update=True)
        rows = await session.execute(
            select(Order.reservation_id, Order.status, Order.created_at).where(
                Order.reservation_id.in_(hold_ids)
            )
        )
        orders = {hold: (status, created) for hold, status, created in rows.all()}
        for hold_id in hold_ids:
            status, created = orders.get(hold_id, (None, None))
            if status in SOLD_STATUSES:
                await inventory.settle_checkout(hold_id, "sold")
            elif status in HELD_STATUSES and created is not None:
                created_ms = int(created.timestamp() * 1000)
                deadline = seam.deadline_ms(created_ms) if seam is not None else created_ms
                await inventory.settle_checkout(hold_id, "await", deadline)
            else:
                await inventory.settle_checkout(hold_id, "return")
            log.warning("settled a stuck checkout hold=%s order_status=%s", hold_id, status)


async def ensure_loaded(app: web.Application) -> list[str]:
    """Every offer PostgreSQL calls active has counters in Redis (rebuilt if Redis lost them)."""
    inventory = app[INVENTORY]
    async with app[DB]() as session:
        active = list(
            (await session.execute(select(Offer.id).where(Offer.status == "active"))).scalars().all()
        )
    for offer_id in active:
        await inventory.counters(offer_id)
    return active


async def sweep_once(app: web.Application, *, resync: bool = False) -> None:
    inventory = app[INVENTORY]
    offer_ids = set(await inventory.active_offers())
    active_in_db = set(await ensure_loaded(app)) if resync else set()
    offer_ids |= active_in_db
    now = now_ms(app[CLOCK])
    for offer_id in offer_ids:
        try:
            _, stale, state = await inventory.sweep(offer_id)
            if stale:
                await settle_stale_checkouts(app, offer_id, stale)
            if state["status"] == "active" and state["ends_at"] <= now:
                await end_offer(app, offer_id)
            elif state["status"] != "active" and offer_id in active_in_db:
                # Ended in Redis but the end's commit never landed: finish it (end_offer is idempotent),
                # so the unsold units reach the product's shelf.
                await end_offer(app, offer_id)
            elif state["status"] != "active":
                await inventory.drop_active(offer_id)
        except OfferMissing:
            await inventory.drop_active(offer_id)
        except Exception:
            log.exception("sweep failed offer=%s", offer_id)
    await end_due_auctions(app)


async def run_sweeper(app: web.Application) -> None:
    interval = app[SETTINGS].sweep_interval_s
    clock = app[CLOCK]
    last_resync = -RESYNC_EVERY_S
    while True:
        try:
            resync = clock.monotonic() - last_resync >= RESYNC_EVERY_S
            await sweep_once(app, resync=resync)
            if resync:
                last_resync = clock.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("sweeper pass failed error=%r", exc)
        await asyncio.sleep(interval)


SWEEPER = web.AppKey("sweeper_task", asyncio.Task[None])


async def sweeper_context(app: web.Application):  # type: ignore[no-untyped-def]
    app[SWEEPER] = asyncio.create_task(run_sweeper(app), name="offer-sweeper")
    yield
    await stop_task(app[SWEEPER], what="offer sweeper")
