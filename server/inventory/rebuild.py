"""Rebuilds an offer's live counters from PostgreSQL, the truth, under the offer's row lock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.inventory.engine import Inventory
from server.inventory.models import SOLD_STATUSES, Offer, Order


async def sold_by_buyer(session: AsyncSession, offer_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(Order.buyer_id, func.sum(Order.quantity))
        .where(Order.offer_id == offer_id, Order.status.in_(SOLD_STATUSES))
        .group_by(Order.buyer_id)
    )
    return {str(buyer): int(units) for buyer, units in rows.all()}


def load_args(offer: Offer, by_buyer: dict[str, int]) -> list[Any]:
    sold = sum(by_buyer.values())
    active = offer.status == "active"
    available = max(offer.quantity - sold, 0) if active else 0
    returned = 0 if active else offer.quantity - sold
    args: list[Any] = [
        offer.quantity,
        available,
        sold,
        returned,
        offer.per_buyer_limit,
        offer.status,
        int(offer.ends_at.timestamp() * 1000),
    ]
    for buyer, units in by_buyer.items():
        args += [buyer, units]
    return args


def database_loader(sessionmaker: async_sessionmaker[AsyncSession], inventory: Inventory):  # type: ignore[no-untyped-def]
    """The loader the engine calls when an offer's counters are missing from Redis.

    The offer row is locked FOR UPDATE while counting, and every sale of a hold (viewer or platform:
    `sale.sell_hold`, the only path) holds it FOR SHARE from before its hold is marked until its order
    commits, so no order can slip between the count and the load: the rebuilt counters never let a
    unit be sold twice.
    """

    async def load(offer_id: str) -> list[Any] | None:
        async with sessionmaker() as session, session.begin():
            offer = await session.get(Offer, offer_id, with_for_update=True)
            if offer is None:
                return None
            args = load_args(offer, await sold_by_buyer(session, offer_id))
            await inventory.load(offer_id, args)
            return args

    return load
