"""Fan-out for webhooks: in the mirror's fan-out transaction, outbox rows become one delivery per
subscribed endpoint of the shop the row belongs to (exactly once, with the mirror's cursor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.broadcasts import Broadcast
from server.db.base import utcnow
from server.inventory.models import Offer
from server.mirror.hooks.events import TOPIC_TYPES, envelope, event_key, subject
from server.mirror.hooks.models import WebhookDelivery, WebhookEndpoint


async def enqueue(session: AsyncSession, rows: Sequence[Any]) -> int:
    """`rows` are (outbox id, topic, payload). Returns how many deliveries were added."""
    wanted = []
    for _id, topic, payload in rows:
        event_type = TOPIC_TYPES.get(topic)
        obj = subject(event_type, payload) if event_type else None
        if event_type and obj is not None:
            wanted.append((event_type, obj))
    if not wanted or not await _any_endpoint(session):
        return 0
    shops = await _shops(session, wanted)
    endpoints = (
        (
            await session.execute(
                select(WebhookEndpoint).where(WebhookEndpoint.shop_id.in_(set(shops.values())))
            )
        )
        .scalars()
        .all()
    )
    by_shop: dict[str, list[WebhookEndpoint]] = {}
    for ep in endpoints:
        by_shop.setdefault(ep.shop_id, []).append(ep)
    now = utcnow()
    values = []
    for event_type, obj in wanted:
        shop = shops.get(_offer_of(event_type, obj))
        for ep in by_shop.get(shop or "", []):
            if "*" not in ep.events and event_type not in ep.events:
                continue
            body = envelope(event_type, obj, int(now.timestamp()))
            values.append(
                {
                    "endpoint_id": ep.id,
                    "event_key": event_key(event_type, obj),
                    "event_id": body["id"],
                    "event_type": event_type,
                    "payload": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "log": [],
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if not values:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(WebhookDelivery).values(values).on_conflict_do_nothing())
    return len(values)


async def _any_endpoint(session: AsyncSession) -> bool:
    return (await session.execute(select(WebhookEndpoint.id).limit(1))).first() is not None


def _offer_of(event_type: str, obj: dict[str, Any]) -> str:
    """Orders name their offer; an offer is its own."""
    return str(obj["id"] if event_type.startswith("offer.") else obj.get("offer_id") or "")


async def _shops(session: AsyncSession, wanted: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """offer id -> the shop whose broadcast sells it: that shop's endpoints hear about it."""
    offers = {_offer_of(t, obj) for t, obj in wanted} - {""}
    if not offers:
        return {}
    rows = await session.execute(
        select(Offer.id, Broadcast.shop_id)
        .join(Broadcast, Broadcast.id == Offer.broadcast_id)
        .where(Offer.id.in_(offers))
    )
    return {offer_id: shop_id for offer_id, shop_id in rows.all()}
