"""The absolute quantity a platform should show: shelf stock plus what live offers can still sell.
Computed at delivery time, so a delivery always carries the latest value (that is the coalescing)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.inventory.engine import Inventory
from server.inventory.models import Product
from server.inventory.stock import offers_available


async def sellable(
    session: AsyncSession, inventory: Inventory, skus: list[str] | None = None
) -> dict[str, tuple[str, int]]:
    """sku -> (product id, units sellable now)."""
    query = select(Product.id, Product.sku, Product.stock)
    if skus is not None:
        query = query.where(Product.sku.in_(skus))
    rows = (await session.execute(query)).all()
    in_offers = await offers_available(session, inventory, [r[0] for r in rows]) if rows else {}
    return {sku: (pid, stock + in_offers.get(pid, 0)) for pid, sku, stock in rows}
