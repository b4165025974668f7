"""Which outbox rows become which webhook events, and how an event looks on the wire (Stripe's shape:
`{id, object: "event", type, created, data: {object}}`)."""

from __future__ import annotations

import hashlib
from typing import Any

from server.events import (
    OFFER_SOLD_OUT,
    ORDER_CONFIRMED,
    ORDER_CREATED,
    ORDER_FULFILLED,
    ORDER_PAID,
    ORDER_REFUNDED,
)

# outbox topic -> the event type the shop's systems hear
TOPIC_TYPES = {
    ORDER_CREATED: "order.created",
    ORDER_CONFIRMED: "order.created",  # checkout without online payment records this one
    ORDER_PAID: "order.paid",
    ORDER_REFUNDED: "order.refunded",
    ORDER_FULFILLED: "order.fulfilled",
    OFFER_SOLD_OUT: "offer.sold_out",
}
EVENT_TYPES = ("order.created", "order.paid", "order.refunded", "order.fulfilled", "offer.sold_out")


def subject(event_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The object the event is about (an order or an offer), or None for rows that are not ours
    (an order placed on a platform is the platform's business, not an order.created of this shop)."""
    if event_type == "offer.sold_out":
        offer = payload.get("offer")
        return dict(offer) if isinstance(offer, dict) and offer.get("id") else None
    if not payload.get("id") or payload.get("channel", "liveshop") != "liveshop":
        return None
    return {k: v for k, v in payload.items() if k != "sku"}  # sku rides along for the mirror only


def event_key(event_type: str, obj: dict[str, Any]) -> str:
    """Each (type, object) is one event: a second outbox row for it changes nothing."""
    return f"{event_type}:{obj['id']}"


def event_id(key: str) -> str:
    """The same id for every endpoint and every retry, so receivers can drop repeats."""
    return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def envelope(event_type: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    key = event_key(event_type, obj)
    return {
        "id": event_id(key),
        "object": "event",
        "type": event_type,
        "created": created,
        "data": {"object": obj},
    }
