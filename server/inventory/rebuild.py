"""Rebuilds an offer's live counters from PostgreSQL, the truth, under the offer's row lock."""

from __future__ import annotations

from collections.abc import Iterable
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


def load_args(offer: Offer, by_buyer: dict[str, int], ordered: Iterable[str] = ()) -> list[Any]:
    """load.lua's ARGV after now_ms: the offer, its units sold per buyer, and holds already ordered."""
    args: list[Any] = [
        offer.quantity,
        sum(by_buyer.values()),
        offer.per_buyer_limit,
        offer.status,
        int(offer.ends_at.timestamp() * 1000),
        len(by_buyer),
    ]
    for buyer, units in by_buyer.items():
        args += [buyer, units]
    args += list(ordered)
    return args


async def ordered_holds(session: AsyncSession, hold_ids: list[str]) -> list[str]:
    """Which of these holds already became orders (whatever the order's status since)."""
    found: list[str] = []
    for i in range(0, len(hold_ids), 1000):
        chunk = hold_ids[i : i + 1000]
        rows = await session.execute(select(Order.reservation_id).where(Order.reservation_id.in_(chunk)))
        found += [str(r) for r in rows.scalars().all()]
    return found


def database_loader(sessionmaker: async_sessionmaker[AsyncSession], inventory: Inventory):  # type: ignore[no-untyped-def]
    """The loader the engine calls when an offer's counters are missing from Redis or stale.

    The offer row is locked FOR UPDATE while counting, and every sale of a hold (viewer or platform:
    `sale.sell_hold`, the only path) holds it FOR SHARE from before its hold is marked until its order
    commits, so no order can slip between the count and the load: the rebuilt counters never let a
    unit be sold twice. The holds Redis still has are read inside the lock too (every script refuses
    stale counters, so none can change meanwhile): those that became orders count as sold, the rest
    may be kept.
    """

    async def load(offer_id: str) -> list[Any] | None:
        async with sessionmaker() as session, session.begin():
            offer = await session.get(Offer, offer_id, with_for_update=True)
            if offer is None:
                return None
            ordered = await ordered_holds(session, await inventory.hold_ids(offer_id))
            args = load_args(offer, await sold_by_buyer(session, offer_id), ordered)
            await inventory.load(offer_id, args)
            return args

    return load
