"""The job table's verbs: enqueue (coalescing stock per SKU), claim with a lease (SKIP LOCKED), finish,
fail with backoff into the dead letters, replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.inventory.models import Order, Product
from server.mirror.models import MirrorCursor, MirrorJob


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def ensure_cursor(session: AsyncSession, name: str) -> None:
    await session.execute(
        _insert(session, MirrorCursor)
        .values(name=name, position=0, updated_at=utcnow())
        .on_conflict_do_nothing()
    )


async def upsert_stock(
    session: AsyncSession, channel: str, sku: str, product_id: str | None, changes: int = 1
) -> None:
    """A stock change: the SKU's one row for this platform gets a new generation. A delivered row
    becomes due again; a row waiting out a backoff keeps waiting; a dead row stays dead (replay it)."""
    now = utcnow()
    t = MirrorJob
    stmt = _insert(session, t).values(
        channel=channel,
        kind="stock",
        key=sku,
        product_id=product_id,
        payload={},
        status="pending",
        generation=changes,
        sent_generation=0,
        attempts=0,
        next_attempt_at=now,
        pending_since=now,
        calls=0,
        created_at=now,
        updated_at=now,
    )
    done = t.status == "done"
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.channel, t.kind, t.key],
        set_={
            "generation": t.generation + changes,
            "status": case((done, "pending"), else_=t.status),
            "attempts": case((done, 0), else_=t.attempts),
            "next_attempt_at": case((done, now), else_=t.next_attempt_at),
            "pending_since": case((done, now), else_=t.pending_since),
            "product_id": case(
                (stmt.excluded.product_id.is_not(None), stmt.excluded.product_id), else_=t.product_id
            ),
            "updated_at": now,
        },
    )
    await session.execute(stmt)


async def insert_for(
    session: AsyncSession, channel: str, kind: str, key: str, payload: dict[str, Any]
) -> None:
    """A one-off job (an order to record); a second insert of the same key is a no-op (dedupe)."""
    now = utcnow()
    await session.execute(
        _insert(session, MirrorJob)
        .values(
            channel=channel,
            kind=kind,
            key=key,
            payload=payload,
            status="pending",
            generation=1,
            sent_generation=0,
            attempts=0,
            next_attempt_at=now,
            pending_since=now,
            calls=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )


@dataclass
class Claimed:
    id: int
    kind: str
    key: str
    product_id: str | None
    payload: dict[str, Any]
    generation: int
    last_value: int | None
    attempts: int


async def claim(
    session: AsyncSession,
    channel: str,
    owner: str,
    *,
    kind: str,
    limit: int,
    lease_s: float,
    stock_interval_s: float,
) -> list[Claimed]:
    """Due jobs of one platform, leased to `owner`: other workers skip locked rows now and leased rows
    until the lease runs out (a worker that died mid-delivery loses its lease, nothing is lost)."""
    now = utcnow()
    t = MirrorJob
    query = (
        select(t)
        .where(t.channel == channel, t.kind == kind, t.status == "pending", t.next_attempt_at <= now)
        .order_by(t.next_attempt_at, t.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if kind == "stock" and stock_interval_s > 0:
        # At most one write per SKU per interval: changes in between coalesce into the next one.
        query = query.where(or_(t.sent_at.is_(None), t.sent_at <= now - timedelta(seconds=stock_interval_s)))
    rows = (await session.execute(query)).scalars().all()
    lease_end = now + timedelta(seconds=lease_s)
    for row in rows:
        row.lease_owner = owner
        row.next_attempt_at = lease_end
    return [
        Claimed(
            r.id, r.kind, r.key, r.product_id, dict(r.payload or {}), r.generation, r.last_value, r.attempts
        )
        for r in rows
    ]


async def succeed(session: AsyncSession, job: Claimed, owner: str, value: int | None, calls: int) -> None:
    """Delivered: done unless a newer change arrived meanwhile (then due again, after the interval)."""
    now = utcnow()
    t = MirrorJob
    same = t.generation == job.generation
    await session.execute(
        update(t)
        .where(t.id == job.id, t.lease_owner == owner)
        .values(
            status=case((same, "done"), else_="pending"),
            sent_generation=job.generation,
            sent_at=now,
            last_value=value,
            attempts=0,
            last_error=None,
            lease_owner=None,
            next_attempt_at=now,
            pending_since=case((same, None), else_=now),
            calls=t.calls + calls,
            updated_at=now,
        )
    )


async def fail(
    session: AsyncSession,
    job: Claimed,
    owner: str,
    error: str,
    *,
    delay: float,
    count_attempt: bool,
    dead: bool,
    calls: int,
) -> None:
    now = utcnow()
    t = MirrorJob
    attempts = job.attempts + (1 if count_attempt else 0)
    await session.execute(
        update(t)
        .where(t.id == job.id, t.lease_owner == owner)
        .values(
            status="dead" if dead else "pending",
            attempts=attempts,
            last_error=error[:1000],
            lease_owner=None,
            next_attempt_at=now + timedelta(seconds=delay),
            calls=t.calls + calls,
            updated_at=now,
        )
    )


def shop_jobs(shop_id: str) -> ColumnElement[bool]:
    """Mirror rows that belong to one shop: its products' stock rows and its orders' rows."""
    t = MirrorJob
    return or_(
        t.product_id.in_(select(Product.id).where(Product.shop_id == shop_id)),
        and_(t.kind == "order", t.key.in_(select(Order.id).where(Order.shop_id == shop_id))),
    )


async def replay(
    session: AsyncSession,
    channel: str | None = None,
    job_id: int | None = None,
    everything: bool = False,
    shop_id: str | None = None,
) -> int:
    """Dead letters (or, with `everything`, every stock row) become due again with fresh attempts;
    with `shop_id`, only that shop's rows."""
    t = MirrorJob
    cond = [t.status == "dead"] if not everything else [or_(t.status == "dead", and_(t.kind == "stock"))]
    if shop_id:
        cond.append(shop_jobs(shop_id))
    if channel:
        cond.append(t.channel == channel)
    if job_id is not None:
        cond.append(t.id == job_id)
    now = utcnow()
    result = await session.execute(
        update(t)
        .where(*cond)
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            lease_owner=None,
            updated_at=now,
            pending_since=now,
            generation=t.generation + 1,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
