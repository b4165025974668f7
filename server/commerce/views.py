"""How commerce objects look on the wire (and in room events): one function per object."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.inventory.engine import Counters
from server.inventory.models import Offer, Order, Product


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
        "verified_only": bool(o.verified_only),
        "available": counters.available,
        "held": counters.held,
        "sold": counters.sold,
        "status": o.status,
        "starts_at": iso(o.starts_at),
        "ends_at": iso(o.ends_at),
        "ended_at": iso(o.ended_at),
    }


def order_view(o: Order, product: Product | None = None) -> dict[str, Any]:
    return {
        "id": o.id,
        "status": o.status,
        "channel": o.channel,
        "offer_id": o.offer_id,
        "reservation_id": o.reservation_id,
        "items": [
            {
                "product_id": o.product_id,
                "sku": product.sku if product else None,
                "title": product.title if product else None,
                "quantity": o.quantity,
                "unit_price": o.unit_price,
            }
        ],
        "total": o.total,
        "currency": o.currency,
        "buyer": o.buyer,
        "created_at": iso(o.created_at),
    }
