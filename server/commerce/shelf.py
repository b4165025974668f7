"""Units leave a product's shelf stock for an offer, an auction or a giveaway in one conditional UPDATE
inside the caller's transaction, so two launches at once never take the same unit."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import DomainError
from server.inventory.models import Product


async def take_from_shelf(
    session: AsyncSession, shop_id: str, product_id: str, units: int, *, field: str
) -> Product:
    """The shop's product, `units` fewer on its shelf. Another shop's product is not_found, as if it
    did not exist; too few units is insufficient_stock with what the shelf has (`field` names the
    input the host would change)."""
    product = await session.get(Product, product_id)
    if product is None or product.shop_id != shop_id:
        raise DomainError("not_found", "product not found", field="product_id")
    taken = await session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock >= units)
        .values(stock=Product.stock - units)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        detail = f"Only {product.stock} units on the shelf" if product.stock else "No unit on the shelf"
        raise DomainError("insufficient_stock", detail, field=field, available=product.stock)
    return product
