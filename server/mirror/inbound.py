"""Platform orders take their units from the same inventory a liveshop buyer does.

Per line (a liveshop SKU): first the product's shelf stock, atomically (UPDATE ... WHERE stock >= q);
if the shelf has not got them and the product has an active flash offer, a claim on that offer through
the same Redis engine, sold by the same steps as a viewer's checkout (`server/inventory/sale.py`: offer
row FOR SHARE, begin checkout, order and outbox rows committed, hold settled sold). If neither has the
units, the order is recorded as `flagged` (to be cancelled on the platform and reported), never
oversold. Each line is one order row whose external id is unique per channel, so a replayed or
re-polled order changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import new_id
from server.errors import DomainError
from server.events import EventBus
from server.inventory.engine import Inventory
from server.inventory.models import Offer, Order, Product
from server.inventory.sale import record_sale, sell_hold
from server.mirror.connectors.base import PlatformLine, PlatformOrder

log = logging.getLogger("liveshop.mirror")
# A hold Redis lost between the claim and its checkout (a flush, a failover) is claimed once more.
CLAIM_ATTEMPTS = 2


@dataclass
class LineOutcome:
    sku: str
    quantity: int
    status: str  # confirmed | flagged | replay | unknown_sku
    source: str = ""  # shelf | offer
    order_id: str = ""


def line_external_id(order: PlatformOrder, sku: str) -> str:
    ext = f"{order.external_id}:{sku}"
    return ext if len(ext) <= 128 else hashlib.sha256(ext.encode()).hexdigest()


def platform_buyer(channel: str, external_id: str) -> str:
    """A buyer id per platform order, so liveshop's per-buyer limits never bind a platform."""
    buyer = f"platform:{channel}:{external_id}"
    return (
        buyer
        if len(buyer) <= 40
        else f"platform:{channel}:" + hashlib.sha1(external_id.encode()).hexdigest()[:16]
    )


def _order(order: PlatformOrder, line: PlatformLine, product: Product, status: str, **extra: object) -> Order:
    return Order(
        id=new_id("or"),
        shop_id=product.shop_id,
        channel=order.channel,
        external_id=line_external_id(order, line.sku),
        product_id=product.id,
        buyer=order.buyer,
        quantity=line.quantity,
        unit_price=line.unit_price,
        total=line.unit_price * line.quantity,
        currency=(line.currency or product.currency)[:3],
        status=status,
        **extra,
    )


async def take_order(
    db: async_sessionmaker[AsyncSession],
    inventory: Inventory,
    order: PlatformOrder,
    *,
    events: EventBus | None = None,
) -> list[LineOutcome]:
    out = []
    for line in order.lines:
        if line.quantity <= 0:
            continue
        out.append(await _take_line(db, inventory, order, line, events))
    return out


async def _existing(db: async_sessionmaker[AsyncSession], channel: str, external_id: str) -> Order | None:
    async with db() as session:
        return (
            await session.execute(
                select(Order).where(Order.channel == channel, Order.external_id == external_id)
            )
        ).scalar_one_or_none()


async def _take_line(
    db: async_sessionmaker[AsyncSession],
    inventory: Inventory,
    order: PlatformOrder,
    line: PlatformLine,
    events: EventBus | None,
) -> LineOutcome:
    ext = line_external_id(order, line.sku)
    if (prev := await _existing(db, order.channel, ext)) is not None:
        return LineOutcome(line.sku, line.quantity, "replay", order_id=prev.id)
    try:
        # 1. the shelf, atomically, with the order and its outbox rows in one transaction
        async with db() as session, session.begin():
            product = (
                await session.execute(select(Product).where(Product.sku == line.sku))
            ).scalar_one_or_none()
            if product is None:
                return LineOutcome(line.sku, line.quantity, "unknown_sku")
            taken = await session.execute(
                update(Product)
                .where(Product.id == product.id, Product.stock >= line.quantity)
                .values(stock=Product.stock - line.quantity)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                row = _order(order, line, product, "confirmed")
                session.add(row)
                await session.flush()
                record_sale(session, row, product, None)
                return LineOutcome(line.sku, line.quantity, "confirmed", "shelf", row.id)
            offer_ids = list(
                (
                    await session.execute(
                        select(Offer.id)
                        .where(Offer.product_id == product.id, Offer.status == "active")
                        .order_by(Offer.created_at)
                    )
                )
                .scalars()
                .all()
            )
        # 2. a live flash offer, through the Redis engine
        for offer_id in offer_ids:
            done = await _from_offer(db, inventory, order, line, product, offer_id, events)
            if done is not None:
                return done
        # 3. nowhere: flagged for cancellation on the platform, never oversold
        async with db() as session, session.begin():
            row = _order(order, line, product, "flagged")
            session.add(row)
        log.warning(
            "platform order flagged: no units channel=%s order=%s sku=%s qty=%s",
            order.channel,
            order.external_id,
            line.sku,
            line.quantity,
        )
        return LineOutcome(line.sku, line.quantity, "flagged", order_id=row.id)
    except IntegrityError:
        prev = await _existing(db, order.channel, ext)  # a concurrent delivery of the same order won
        if prev is None:
            raise
        return LineOutcome(line.sku, line.quantity, "replay", order_id=prev.id)


async def _from_offer(
    db: async_sessionmaker[AsyncSession],
    inventory: Inventory,
    order: PlatformOrder,
    line: PlatformLine,
    product: Product,
    offer_id: str,
    events: EventBus | None,
) -> LineOutcome | None:
    """Claim the line's units on a live offer and sell the hold; None if the offer cannot supply them."""
    buyer = platform_buyer(order.channel, order.external_id)
    for _ in range(CLAIM_ATTEMPTS):
        claim = await inventory.reserve(
            offer_id, buyer, line.quantity, idem_key=line_external_id(order, line.sku)
        )
        if claim.code not in ("ok", "replay"):
            return None
        hold_id = claim.hold_id

        def make_order(offer: Offer, _product: Product, _quantity: int, hold_id: str = hold_id) -> Order:
            return _order(
                order, line, product, "confirmed", offer_id=offer.id, reservation_id=hold_id, buyer_id=buyer
            )

        try:
            sale = await sell_hold(db, inventory, hold_id, buyer, make_order, events=events)
        except DomainError as exc:
            await _give_back(inventory, hold_id, buyer)
            if exc.code == "reservation_expired":
                continue
            if exc.code == "service_unavailable":
                raise
            return None
        except BaseException:
            await _give_back(inventory, hold_id, buyer)
            raise
        return LineOutcome(line.sku, line.quantity, "confirmed", "offer", sale.order.id)
    return None


async def _give_back(inventory: Inventory, hold_id: str, buyer: str) -> None:
    """Return a platform hold that did not become an order (a no-op if it sold or is still settling)."""
    with contextlib.suppress(Exception):
        await inventory.release(hold_id, buyer)
