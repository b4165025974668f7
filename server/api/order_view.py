"""How an order looks on the wire: one function shared by every feature that answers with an order
(commerce's checkout, payments' refunds, the orders desk)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.inventory.models import Order, Product


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_view(o: Order, product: Product | None = None, *, secret: bool = True) -> dict[str, Any]:
    """`payment` is null for an order the shop takes no online payment for; its `client_secret` is
    shown to the buyer only (`secret=False` for the host, exports and events)."""
    payment = o.payment
    if payment is not None and not secret:
        payment = {k: v for k, v in payment.items() if k != "client_secret"}
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
        "subtotal": o.total + (o.discount or 0),
        "discount": o.discount or 0,
        "coupon": o.coupon_code,
        "total": o.total,
        "currency": o.currency,
        "buyer": o.buyer,
        "payment": payment,
        "notice": o.notice,
        # where the buyer came from (utm_source or the referring platform; null before attribution)
        "source": o.source,
        "created_at": iso(o.created_at),
    }
