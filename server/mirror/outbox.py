"""Fan-out: outbox rows become per-platform jobs and the shop's webhook deliveries, exactly once, in
one transaction with the cursor.

Outbox ids come from a sequence, and on PostgreSQL a transaction that took a lower id may commit after
one that took a higher id. So the cursor only moves over ids that are seen and contiguous (a gap is
trusted to be a rolled-back transaction once the row after it is GAP_GRACE old), and rows above the
cursor are picked by an anti-join with `mirror_seen`: nothing committed is skipped, nothing twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.outbox import OutboxEvent
from server.events import ORDER_CONFIRMED, ORDER_PAID, STOCK_CHANGED
from server.mirror.hooks.enqueue import enqueue as enqueue_webhooks
from server.mirror.jobs import ensure_cursor, insert_for, upsert_stock
from server.mirror.models import MirrorCursor, MirrorSeen

GAP_GRACE = timedelta(seconds=60)
CURSOR = "outbox"


async def fan_out(
    session: AsyncSession, channels: list[str], order_channels: list[str], limit: int = 1000
) -> int:
    """One pass, in the caller's transaction. Returns how many outbox rows it consumed (0 if another
    worker holds the cursor)."""
    await ensure_cursor(session, CURSOR)
    cursor = (
        await session.execute(
            select(MirrorCursor).where(MirrorCursor.name == CURSOR).with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if cursor is None:
        return 0
    seen = select(MirrorSeen.outbox_id).where(MirrorSeen.outbox_id > cursor.position)
    rows = (
        await session.execute(
            select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload)
            .where(OutboxEvent.id > cursor.position, OutboxEvent.id.not_in(seen))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
    ).all()
    changes: Counter[tuple[str, str, str]] = Counter()
    orders: list[dict[str, Any]] = []
    for _id, topic, payload in rows:
        if topic == STOCK_CHANGED and payload.get("sku"):
            for channel in channels:
                changes[(channel, str(payload["sku"]), str(payload.get("product_id") or ""))] += 1
        elif topic in (ORDER_CONFIRMED, ORDER_PAID) and payload.get("channel", "liveshop") == "liveshop":
            # A sale is recorded on the platforms once it is final: at once without online payment,
            # when paid with it (refunds and cancellations reach them as stock changes).
            orders.append(payload)
    for (channel, sku, product_id), count in sorted(changes.items()):
        await upsert_stock(session, channel, sku, product_id or None, count)
    for payload in orders:
        for channel in order_channels:
            await insert_for(session, channel, "order", str(payload["id"]), payload)
    await enqueue_webhooks(session, rows)
    if rows:
        session.add_all([MirrorSeen(outbox_id=r[0]) for r in rows])
        await session.flush()
    await _advance(session, cursor)
    return len(rows)


async def _advance(session: AsyncSession, cursor: MirrorCursor) -> None:
    """Move the cursor over every contiguous seen id, then forget the seen marks below it."""
    ids = (
        await session.execute(
            select(OutboxEvent.id, OutboxEvent.created_at, MirrorSeen.outbox_id)
            .outerjoin(MirrorSeen, MirrorSeen.outbox_id == OutboxEvent.id)
            .where(OutboxEvent.id > cursor.position)
            .order_by(OutboxEvent.id)
            .limit(5000)
        )
    ).all()
    position = cursor.position
    old = utcnow() - GAP_GRACE
    for outbox_id, created_at, seen_id in ids:
        if seen_id is None:
            break
        if outbox_id != position + 1 and created_at > old:
            break  # a lower id may still be committing
        position = outbox_id
    if position != cursor.position:
        cursor.position = position
        await session.execute(delete(MirrorSeen).where(MirrorSeen.outbox_id <= position))
