"""The payment state machine: what a provider's word does to an order, its units and the money.

Every step that changes an order runs in one PostgreSQL transaction that first takes the offer's row
FOR SHARE (a rebuild or an end takes it FOR UPDATE, so neither counts units while an order changes),
then the order's row FOR UPDATE. The Redis step inside (pay.lua / unsell.lua) is keyed by the order
id, so a crash after Redis moved and before PostgreSQL committed is healed by the next attempt (a
redelivered webhook or the reconciliation loop) without moving units twice. Calls to the provider
never run inside a transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.order_view import order_view
from server.db.base import new_id
from server.events import (
    ORDER_CANCELED,
    ORDER_PAID,
    ORDER_REFUNDED,
    STOCK_CHANGED,
    EventBus,
)
from server.inventory.engine import Inventory, PayOutcome
from server.inventory.models import SOLD_STATUSES, Offer, Order, Product
from server.payments.models import Payment, PaymentEvent
from server.payments.providers.base import Intent, Provider, ProviderRefused, ProviderUnavailable

log = logging.getLogger("liveshop.payments")

LIVE = ("created", "requires_action", "processing", "failed")  # may still succeed
TAKEN = ("succeeded", "refund_pending", "refunded")  # money arrived (and maybe went back)

NOTICE_SOLD_OUT = "Sold out before your payment completed: your payment is refunded in full."
NOTICE_LATE = "Paid after your reservation lapsed; units were still available, so the order is yours."
NOTICE_DUPLICATE = "This order was already paid: the extra payment is refunded."
NOTICE_UNPAID = "The payment did not complete in time; the reservation was released."


class _Rebuild(Exception):
    """Redis lost the offer's counters: rebuild them outside the lock, then try again."""

    def __init__(self, offer_id: str) -> None:
        self.offer_id = offer_id


@dataclass
class Outcome:
    outcome: str  # paid, refunded, already, duplicate, mismatch, unknown_order, canceled, failed, ...
    order: Order | None = None
    refunds: list[str] = field(default_factory=list)  # payment ids whose money must go back now
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    moved: list[PayOutcome] = field(default_factory=list)  # counter changes to announce after commit


def order_event(order: Order, product: Product | None, broadcast_id: str | None = None) -> dict[str, Any]:
    """An order as payment events carry it (the outbox and the in-process bus): the API's view without
    the client secret, plus what consumers key on."""
    view = order_view(order, product, secret=False)
    view.update(sku=product.sku if product else None, buyer_id=order.buyer_id, broadcast_id=broadcast_id)
    return view


def public_payment(block: dict[str, Any] | None) -> dict[str, Any] | None:
    """The payment block without the client secret (for the host, events and exports)."""
    if block is None:
        return None
    return {k: v for k, v in block.items() if k != "client_secret"}


class Ledger:
    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        inventory: Inventory,
        events: EventBus,
        provider: Provider | None,
    ) -> None:
        self.db = db
        self.inventory = inventory
        self.events = events
        self.provider = provider

    # helpers -------------------------------------------------------------------------------------
    @staticmethod
    async def lock(session: AsyncSession, order_id: str) -> tuple[Order | None, Offer | None]:
        """The offer FOR SHARE, then the order FOR UPDATE (the one lock order of every path)."""
        order = await session.get(Order, order_id)
        if order is None:
            return None, None
        offer = None
        if order.offer_id:
            # An ended offer's row is changed by a refund (its `returned`): take it exclusively then.
            ended = (await session.execute(select(Offer.status).where(Offer.id == order.offer_id))).scalar()
            lock: Any = {"read": True} if ended == "active" else True
            offer = await session.get(Offer, order.offer_id, with_for_update=lock, populate_existing=True)
        order = await session.get(Order, order_id, with_for_update=True, populate_existing=True)
        return order, offer

    @staticmethod
    async def _seen(session: AsyncSession, event_id: str | None) -> bool:
        return event_id is not None and await session.get(PaymentEvent, event_id) is not None

    @staticmethod
    def _remember(
        session: AsyncSession,
        event_id: str | None,
        provider: str,
        kind: str,
        order_id: str | None,
        outcome: str,
    ) -> None:
        if event_id is not None:
            session.add(
                PaymentEvent(
                    id=event_id[:200], provider=provider, type=kind[:64], order_id=order_id, outcome=outcome
                )
            )

    @staticmethod
    def _set_block(order: Order, **changes: Any) -> None:
        block = dict(order.payment or {})
        block.update(changes)
        order.payment = block

    async def _record(
        self, session: AsyncSession, out: Outcome, topic: str, order: Order, stock: bool
    ) -> None:
        product = await session.get(Product, order.product_id)
        sku = product.sku if product else None
        offer = await session.get(Offer, order.offer_id) if order.offer_id else None
        data = order_event(order, product, offer.broadcast_id if offer else None)
        EventBus.record(session, topic, sku or order.id, data)
        out.events.append((topic, data))
        if stock and product is not None:
            EventBus.record(
                session, STOCK_CHANGED, product.sku, {"product_id": product.id, "sku": product.sku}
            )

    async def _finish(self, out: Outcome) -> Outcome:
        for moved in out.moved:
            await self.inventory.announce(moved)
        for topic, data in out.events:
            await self.events.publish(topic, data, relay=True)
        for payment_id in out.refunds:
            await self.refund_payment(payment_id)
        return out

    async def _retrying(self, step: Any, *args: Any) -> Outcome:
        """Run a locked step; rebuild lost counters outside the lock and run it again."""
        for _ in range(3):
            try:
                out: Outcome = await step(*args)
            except _Rebuild as need:
                await self.inventory.ensure_trusted(need.offer_id)
                continue
            except IntegrityError:  # a twin delivery of the same event committed first
                return Outcome("duplicate")
            return await self._finish(out)
        raise ProviderUnavailable("inventory counters could not be rebuilt")

    # the provider says: paid ---------------------------------------------------------------------
    async def succeeded(self, provider: str, intent: Intent, event_id: str | None = None) -> Outcome:
        """Money arrived for an order: the order is paid with its units, or the money goes back."""
        return await self._retrying(self._succeeded, provider, intent, event_id)

    async def _succeeded(self, provider: str, intent: Intent, event_id: str | None) -> Outcome:
        async with self.db() as session, session.begin():
            if await self._seen(session, event_id):
                return Outcome("duplicate")
            order, offer = await self.lock(session, intent.order_id) if intent.order_id else (None, None)
            if order is None:
                log.warning("payment for an unknown order provider=%s ref=%s", provider, intent.ref)
                self._remember(session, event_id, provider, "succeeded", None, "unknown_order")
                return Outcome("unknown_order")
            out = Outcome("paid", order)
            payment = (
                await session.execute(
                    select(Payment).where(Payment.provider == provider, Payment.provider_ref == intent.ref)
                )
            ).scalar_one_or_none()
            if payment is None:
                payment = Payment(
                    id=new_id("pa"),
                    order_id=order.id,
                    provider=provider,
                    provider_ref=intent.ref,
                    amount=intent.amount,
                    currency=intent.currency,
                    status="created",
                )
                session.add(payment)
                await session.flush()
            if payment.status in TAKEN:
                self._remember(session, event_id, provider, "succeeded", order.id, "already")
                out.outcome = "already"
                return out
            if (
                payment.order_id != order.id
                or intent.amount != order.total
                or intent.currency != order.currency.upper()
            ):
                log.error(
                    "payment does not match its order order=%s ref=%s amount=%s %s expected=%s %s",
                    order.id,
                    intent.ref,
                    intent.amount,
                    intent.currency,
                    order.total,
                    order.currency,
                )
                payment.status = "refund_pending"
                payment.refund_reason = "amount or currency does not match the order"
                self._remember(session, event_id, provider, "succeeded", order.id, "mismatch")
                out.outcome = "mismatch"
                out.refunds.append(payment.id)
                return out
            paid_before = (
                await session.execute(
                    select(Payment.id).where(
                        Payment.order_id == order.id, Payment.id != payment.id, Payment.status == "succeeded"
                    )
                )
            ).first()
            if (
                order.status in ("pending_payment", "canceled")
                and paid_before is None
                and order.reservation_id
            ):
                result = await self.inventory.pay(
                    order.reservation_id, order.id, order.buyer_id or "", order.quantity
                )
                taken = result.outcome
                if taken == "missing":
                    if offer is not None and offer.status == "active":
                        raise _Rebuild(offer.id)
                    taken = "none"
                if taken in ("sold", "late"):
                    order.status = "paid"
                    order.notice = NOTICE_LATE if taken == "late" else None
                    payment.status = "succeeded"
                    self._set_block(order, id=intent.ref, status="succeeded", error=None)
                    self._remember(session, event_id, provider, "succeeded", order.id, "paid")
                    await self._record(session, out, ORDER_PAID, order, stock=True)
                    log.info("order paid order=%s ref=%s units=%s", order.id, intent.ref, taken)
                    return out
                order.status = "refunded"
                order.notice = NOTICE_SOLD_OUT
                payment.status = "refund_pending"
                payment.refund_reason = "sold out before the payment completed"
                self._set_block(order, id=intent.ref, status="refund_pending")
                self._remember(session, event_id, provider, "succeeded", order.id, "sold_out")
                await self._record(session, out, ORDER_REFUNDED, order, stock=False)
                log.warning("paid too late, no units left: refunding order=%s ref=%s", order.id, intent.ref)
                out.outcome = "refunded"
                out.refunds.append(payment.id)
                return out
            # Paid already by another payment, refunded, fulfilled or a no-payment order: money back.
            payment.status = "refund_pending"
            payment.refund_reason = "a second payment for an order already settled"
            if order.status in SOLD_STATUSES:
                order.notice = NOTICE_DUPLICATE
            self._remember(session, event_id, provider, "succeeded", order.id, "duplicate_payment")
            log.warning("second payment for order=%s ref=%s: refunding it", order.id, intent.ref)
            out.outcome = "duplicate_payment"
            out.refunds.append(payment.id)
            return out

    # the provider says: declined, needs action, canceled -----------------------------------------
    async def progressed(self, provider: str, intent: Intent, event_id: str | None = None) -> Outcome:
        """A decline or a 3-D Secure step: the order keeps waiting (the buyer may try another card)."""
        async with self.db() as session, session.begin():
            if await self._seen(session, event_id):
                return Outcome("duplicate")
            order, _ = await self.lock(session, intent.order_id) if intent.order_id else (None, None)
            self._remember(
                session, event_id, provider, intent.status, order.id if order else None, intent.status
            )
            if order is None:
                return Outcome("unknown_order")
            payment = (
                await session.execute(
                    select(Payment).where(Payment.provider == provider, Payment.provider_ref == intent.ref)
                )
            ).scalar_one_or_none()
            if payment is not None and payment.status in LIVE:
                payment.status = intent.status if intent.status in LIVE else payment.status
            if order.status == "pending_payment" and payment is not None and payment.status in LIVE:
                self._set_block(order, status=intent.status, error=intent.error)
            return Outcome(intent.status, order)

    async def canceled(
        self,
        provider: str,
        intent: Intent | None,
        order_id: str,
        event_id: str | None = None,
        notice: str = NOTICE_UNPAID,
    ) -> Outcome:
        """The payment will never come: the order is canceled and its held units return."""
        return await self._retrying(self._canceled, provider, intent, order_id, event_id, notice)

    async def _canceled(
        self, provider: str, intent: Intent | None, order_id: str, event_id: str | None, notice: str
    ) -> Outcome:
        async with self.db() as session, session.begin():
            if await self._seen(session, event_id):
                return Outcome("duplicate")
            order, offer = await self.lock(session, order_id)
            self._remember(session, event_id, provider, "canceled", order_id if order else None, "canceled")
            if order is None:
                return Outcome("unknown_order")
            out = Outcome("canceled", order)
            payments = (
                (await session.execute(select(Payment).where(Payment.order_id == order.id))).scalars().all()
            )
            for payment in payments:
                if intent is not None and payment.provider_ref == intent.ref and payment.status in LIVE:
                    payment.status = "canceled"
            if order.status != "pending_payment" or any(p.status in TAKEN for p in payments):
                out.outcome = "already"
                return out
            if intent is not None and any(p.status in LIVE for p in payments):
                out.outcome = "waiting"  # another attempt of this order may still succeed
                return out
            if order.reservation_id:
                released = await self.inventory.unsell(
                    order.reservation_id, order.id, order.buyer_id or "", order.quantity, False
                )
                if released.outcome == "missing" and offer is not None and offer.status == "active":
                    raise _Rebuild(offer.id)
                out.moved.append(released)
            for payment in payments:
                if payment.status in LIVE:
                    payment.status = "canceled"
            order.status = "canceled"
            order.notice = notice
            self._set_block(order, status="canceled")
            await self._record(session, out, ORDER_CANCELED, order, stock=True)
            return out

    # money back -------------------------------------------------------------------------------------
    async def refund_payment(self, payment_id: str) -> bool:
        """Return one payment's money (decided already: status refund_pending). False if the provider
        cannot be reached now; the reconciliation loop tries again."""
        async with self.db() as session:
            payment = await session.get(Payment, payment_id)
        if payment is None or payment.status != "refund_pending" or self.provider is None:
            return False
        try:
            ref = await self.provider.refund(
                payment.provider_ref,
                payment.amount,
                payment.refund_reason or "refund",
                f"liveshop-refund-{payment.id}",
            )
        except (ProviderUnavailable, ProviderRefused) as exc:
            log.warning("refund not made yet payment=%s error=%s", payment.id, exc)
            return False
        async with self.db() as session, session.begin():
            row = await session.get(Payment, payment_id, with_for_update=True)
            if row is not None and row.status == "refund_pending":
                row.status = "refunded"
                row.refund_ref = ref
                order = await session.get(Order, row.order_id, with_for_update=True)
                if order is not None and order.status == "refunded":
                    self._set_block(order, status="refunded")
        log.info("refunded payment=%s refund=%s", payment_id, ref)
        return True

    async def refund_order(self, order_id: str, reason: str, final: str = "refunded") -> Outcome:
        """The host refunds a whole order: the provider returns the money first (so a provider that is
        down changes nothing), then the order is `final` (refunded; canceled for an order that took no
        online payment) and its units go back on the shelf."""
        async with self.db() as session:
            order = await session.get(Order, order_id)
            payments = (
                (
                    await session.execute(
                        select(Payment).where(Payment.order_id == order_id, Payment.status == "succeeded")
                    )
                )
                .scalars()
                .all()
                if order
                else []
            )
        if order is None:
            return Outcome("unknown_order")
        if order.status in ("refunded", "canceled"):
            return Outcome("already", order)
        if order.status not in SOLD_STATUSES:
            return Outcome("not_refundable", order)
        refunded: dict[str, str] = {}
        for payment in payments:
            if self.provider is None:
                raise ProviderUnavailable("no provider configured to return this payment")
            refunded[payment.id] = await self.provider.refund(
                payment.provider_ref, payment.amount, reason or "refund", f"liveshop-refund-{payment.id}"
            )
        return await self._retrying(self._refunded, order_id, refunded, reason, final)

    async def _refunded(self, order_id: str, refunded: dict[str, str], reason: str, final: str) -> Outcome:
        async with self.db() as session, session.begin():
            order, offer = await self.lock(session, order_id)
            assert order is not None
            out = Outcome("refunded", order)
            for payment_id, ref in refunded.items():
                payment = await session.get(Payment, payment_id, with_for_update=True)
                if payment is not None:
                    payment.status = "refunded"
                    payment.refund_ref = ref
                    payment.refund_reason = reason or "refunded by the shop"
            if order.status not in SOLD_STATUSES:
                out.outcome = "already"
                return out
            out.moved += await self.give_back(session, order, offer)
            order.status = final
            what = "Refunded" if final == "refunded" else "Canceled"
            order.notice = f"{what} by the shop" + (f": {reason}" if reason else ".")
            if order.payment is not None:
                self._set_block(order, status="refunded")
            topic = ORDER_REFUNDED if final == "refunded" else ORDER_CANCELED
            await self._record(session, out, topic, order, stock=True)
            return out

    async def give_back(self, session: AsyncSession, order: Order, offer: Offer | None) -> list[PayOutcome]:
        """A sold order's units return: into the live offer, or onto the product's shelf once the offer
        ended (PostgreSQL's stock and the offer's `returned`, and Redis's ended counters alike). Gives
        the counter changes to announce after the commit."""
        moved = []
        if order.reservation_id:
            done = await self.inventory.unsell(
                order.reservation_id, order.id, order.buyer_id or "", order.quantity, True
            )
            if done.outcome == "missing" and offer is not None and offer.status == "active":
                raise _Rebuild(offer.id)
            moved.append(done)
        if offer is None or offer.status != "active":
            product = await session.get(Product, order.product_id, with_for_update=True)
            if product is not None:
                product.stock += order.quantity
            if offer is not None:
                offer.returned = (offer.returned or 0) + order.quantity
        return moved
