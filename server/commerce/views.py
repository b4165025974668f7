"""How commerce objects look on the wire (and in room events): one function per object."""

from __future__ import annotations

from typing import Any

from server.api.order_view import iso, order_view
from server.inventory.engine import Counters
from server.inventory.models import Offer, Product


def product_view(p: Product, in_offers_available: int = 0) -> dict[str, Any]:
    """`stock` is the shelf stock no offer has taken; `available` adds what live offers can still sell."""
    return {
        "id": p.id,
        "sku": p.sku,
        "title": p.title,
        "description": p.description,
        "image_url": p.image_url,
        "price": p.price,
        "currency": p.currency,
        "stock": p.stock,
        "available": p.stock + in_offers_available,
    }


def offer_view(o: Offer, counters: Counters | None) -> dict[str, Any]:
    if counters is None or o.status == "ended":
        sold = o.quantity - (o.returned or 0) if o.status == "ended" else 0
        counters = Counters(0, 0, sold) if o.status == "ended" else Counters(o.quantity, 0, 0)
    return {
        "id": o.id,
        "broadcast_id": o.broadcast_id,
        "product_id": o.product_id,
        "price": o.price,
        "currency": o.currency,
        "quantity": o.quantity,
        "per_buyer_limit": o.per_buyer_limit,
        "available": counters.available,
        "held": counters.held,
        "sold": counters.sold,
        "status": o.status,
        "starts_at": iso(o.starts_at),
        "ends_at": iso(o.ends_at),
        "ended_at": iso(o.ended_at),
    }


__all__ = ["iso", "offer_view", "order_view", "product_view"]
