"""Selling a hold: the one checkout, for a viewer's order and a platform's, in the one safe lock order.

0. rebuild the offer's counters from PostgreSQL first if Redis lost them or they are stale (written
   by another Redis process: a failover); queue behind any sale of the same hold still in flight (a
   retry then finds its twin's order instead of racing it; see server/db/locks.py);
1. lock the offer row FOR SHARE (a rebuild or an end takes it FOR UPDATE, so neither can count sold
   units while this order is half-written);
2. mark the hold "checking out" in Redis, under that lock (expiry can no longer take it; a second
   checkout is refused). Redis flushed before this step: there is no hold to mark, nothing is sold.
   Flushed after it: the rebuild waits for the lock, so it counts this order once it commits;
3. insert the order and its outbox rows and commit: from here the sale is true;
4. settle the hold as sold in Redis. If the process dies between 3 and 4, the sweeper finds the
   checkout past its deadline and settles it from PostgreSQL's answer. If 3 fails, PostgreSQL's answer
   settles it at once: sold if the order exists after all, else an ordinary hold with its first expiry.

A sale with a live coupon redeems it under the hold's queue of step 0, just before step 2 (one checkout
of a hold at a time, so the redemption, keyed by the hold, is this checkout's alone; a refusal leaves
the hold untouched), and prices the order net of the discount; if the order is not written after all,
the redemption is given back. An order the coupon
brings to zero waits for no payment: it is confirmed at once.

A sale that waits for its payment (`awaiting`, the payment deadline of an order created at a given
time) writes a `pending_payment` order and `order.created` instead of `order.confirmed`, and step 4
keeps the units held (as "p", until the deadline) instead of selling them: the payment sells them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.locks import serialized
from server.errors import Code, DomainError, NotFound
from server.events import ORDER_CONFIRMED, ORDER_CREATED, STOCK_CHANGED, EventBus, OrderConfirmed, OrderLine
from server.inventory.coupons import CouponBook, CouponTerms, refusal
from server.inventory.engine import Inventory
from server.inventory.keys import hold_offer_id
from server.inventory.models import Offer, Order, Product

log = logging.getLogger("liveshop.inventory")

# begin_checkout's refusals, as the buyer reads them.
REFUSALS = {
    "reservation_expired": "This reservation expired or was released; reserve again",
    "checkout_in_progress": "This reservation is already being checked out",
}
NOT_SAVED = "Your order could not be saved; your reservation still holds, please retry"

MakeOrder = Callable[[Offer, Product, int], Order]  # (locked offer, its product, units held) -> order
Deadline = Callable[[int], int]  # an order's created_at in ms -> its payment deadline in ms


@dataclass(frozen=True, slots=True)
class CouponUse:
    """A coupon the buyer asked for at checkout: its terms and the book that counts it."""

    book: CouponBook
    terms: CouponTerms


@dataclass(frozen=True, slots=True)
class Sale:
    order: Order
    product: Product
    event: OrderConfirmed
    # settle_checkout's answer after the commit: "ok"; "gone", "missing" or "stale" if Redis lost the hold
    # meanwhile (the rebuild, which waited for this commit, counted the order); "unsettled" if Redis
    # did not answer (the sweeper settles it from PostgreSQL after the checkout deadline).
    settled: str


def order_confirmed(order: Order, product: Product, broadcast_id: str | None) -> OrderConfirmed:
    """ORDER_CONFIRMED's payload, the same for every channel."""
    line = OrderLine(
        product_id=product.id,
        sku=product.sku,
        title=product.title,
        quantity=order.quantity,
        unit_price=order.unit_price,
    )
    return OrderConfirmed(
        id=order.id,
        status=order.status,
        channel=order.channel,
        external_id=order.external_id,
        offer_id=order.offer_id,
        reservation_id=order.reservation_id,
        broadcast_id=broadcast_id,
        product_id=product.id,
        sku=product.sku,
        quantity=order.quantity,
        items=[line],
        total=order.total,
        currency=order.currency,
        buyer=dict(order.buyer or {}),
        created_at=order.created_at.isoformat() if order.created_at else None,
    )


def record_sale(
    session: AsyncSession, order: Order, product: Product, broadcast_id: str | None
) -> OrderConfirmed:
    """The sale's outbox rows, in the caller's transaction (the order must be flushed already)."""
    event = order_confirmed(order, product, broadcast_id)
    EventBus.record(session, ORDER_CONFIRMED, product.sku, event)
    EventBus.record(session, STOCK_CHANGED, product.sku, {"product_id": product.id, "sku": product.sku})
    return event


async def sell_hold(
    db: async_sessionmaker[AsyncSession],
    inventory: Inventory,
    hold_id: str,
    buyer: str,
    make_order: MakeOrder,
    *,
    events: EventBus | None = None,
    awaiting: Deadline | None = None,
    coupon: CouponUse | None = None,
) -> Sale:
    """Turn a buyer's hold into a committed order, exactly once.

    Raises DomainError `not_found` (no such hold for this buyer, or no offer), one of REFUSALS, or
    `service_unavailable` when the order could not be written (the hold is settled from PostgreSQL's
    answer first); an IntegrityError (a twin request won the race) is raised as it is."""
    offer_id = hold_offer_id(hold_id)
    if offer_id is None:
        raise DomainError("not_found", "reservation not found", field="reservation_id")
    # After a Redis failover or restart the counters are stale: rebuild them now, before the lock
    # (under it the rebuild would wait for this very sale), so a hold that survived can be sold.
    await inventory.ensure_trusted(offer_id)
    marked = False
    fresh = False  # this request counted the coupon use (not a retry of a checkout that had)
    try:
        # twins of one checkout queue here: a retry sees its twin's order, not a half-written one
        async with serialized(db, f"sell:{hold_id}") as session:
            offer = await session.get(Offer, offer_id, with_for_update={"read": True})
            product = await session.get(Product, offer.product_id) if offer is not None else None
            if offer is None or product is None:
                raise NotFound("offer")
            if coupon is not None:  # a refused coupon leaves the hold as it was: never marked
                use = await coupon.book.redeem(coupon.terms.id, hold_id, buyer)
                if use.code not in ("ok", "replay"):
                    raise refusal(use.code)
                fresh = use.code == "ok"
            code, quantity = await inventory.begin_checkout(hold_id, buyer)
            if code == "forbidden":
                raise DomainError("not_found", "reservation not found", field="reservation_id")
            if code != "ok":
                raise DomainError(Code(code), REFUSALS[code])
            marked = True
            order = make_order(offer, product, quantity)
            if coupon is not None:
                order.discount = coupon.terms.discount(order.total)
                order.total -= order.discount
                order.coupon_id, order.coupon_code = coupon.terms.id, coupon.terms.code
                if order.total == 0 and awaiting is not None:  # nothing to pay: sold now
                    order.status, awaiting = "confirmed", None
            session.add(order)
            await session.flush()
            if awaiting is None:
                event = record_sale(session, order, product, offer.broadcast_id)
            else:
                event = order_confirmed(order, product, offer.broadcast_id)
                EventBus.record(session, ORDER_CREATED, product.sku, event)
    except BaseException as exc:
        if not marked:
            if fresh and coupon is not None:  # the hold could not be checked out: nor is the coupon
                await give_back_quietly(coupon.book, coupon.terms.id, hold_id)
            raise
        outcome = await settle_from_database(db, inventory, hold_id, awaiting)
        if coupon is not None and outcome == "abort":  # no order for this hold: its use goes back
            await give_back_quietly(coupon.book, coupon.terms.id, hold_id)
        if isinstance(exc, (SQLAlchemyError, OSError)) and not isinstance(exc, IntegrityError):
            log.warning("checkout write failed hold=%s error=%r", hold_id, exc)
            raise DomainError("service_unavailable", NOT_SAVED) from exc
        raise
    try:
        if awaiting is None:
            settled = await inventory.settle_checkout(hold_id, "sold")
        else:
            deadline = awaiting(int(order.created_at.timestamp() * 1000))
            settled = await inventory.settle_checkout(hold_id, "await", deadline)
    except Exception as exc:  # the order is committed; the sweeper settles the hold from PostgreSQL
        log.warning("hold not settled after commit hold=%s error=%r", hold_id, exc)
        settled = "unsettled"
    if settled != "ok":
        log.warning("sold hold was not in checkout hold=%s answer=%s", hold_id, settled)
    if events is not None and awaiting is None:
        await events.publish(ORDER_CONFIRMED, event)
    return Sale(order, product, event, settled)


async def give_back_quietly(book: CouponBook, coupon_id: str, use_id: str) -> None:
    """Return a redemption whose order never was (or was canceled). If Redis does not answer, the use
    stays counted: the coupon sells one fewer, never one more than its cap."""
    try:
        await book.give_back(coupon_id, use_id)
    except Exception as exc:
        log.warning("coupon use not given back coupon=%s use=%s error=%r", coupon_id, use_id, exc)


async def settle_from_database(
    db: async_sessionmaker[AsyncSession], inventory: Inventory, hold_id: str, awaiting: Deadline | None = None
) -> str | None:
    """After a failed write PostgreSQL says whether the order exists, and the hold follows: "sold",
    "await" (an order waiting for its payment) or "abort". None if it could not be asked (the hold
    stays checking out; the sweeper decides later)."""
    try:
        async with db() as session:
            row = (
                await session.execute(
                    select(Order.status, Order.created_at).where(Order.reservation_id == hold_id)
                )
            ).first()
        if row is None:
            outcome = "abort"
            await inventory.settle_checkout(hold_id, outcome)
        elif row.status == "pending_payment" and awaiting is not None:
            outcome = "await"
            await inventory.settle_checkout(
                hold_id, outcome, awaiting(int(row.created_at.timestamp() * 1000))
            )
        else:
            outcome = "sold"
            await inventory.settle_checkout(hold_id, outcome)
    except Exception as exc:
        log.warning("checkout left for the sweeper hold=%s error=%r", hold_id, exc)
        return None
    return outcome
