"""What a product can sell right now: its shelf stock plus what its live offers still have."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.inventory.engine import Counters, Inventory
from server.inventory.models import Offer


async def offers_available(
    session: AsyncSession, inventory: Inventory, product_ids: list[str] | None = None
) -> dict[str, int]:
    """product id -> units still claimable in its active offers (live Redis counters)."""
    query = select(Offer.id, Offer.product_id).where(Offer.status == "active")
    if product_ids is not None:
        query = query.where(Offer.product_id.in_(product_ids))
    totals: dict[str, int] = {}
    for offer_id, product_id in (await session.execute(query)).all():
        counters: Counters = await inventory.counters(offer_id)
        totals[product_id] = totals.get(product_id, 0) + counters.available
    return totals
