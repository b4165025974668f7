"""Checks the invariants of a live system: counters add up, nothing oversold, Redis agrees with PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.inventory.engine import Inventory
from server.inventory.keys import order_marks_key
from server.inventory.models import SOLD_STATUSES, Offer, Order, Product

# An extra check a feature adds to the audit (payments: no money kept for nothing): given a session
# and the audited offer ids, it answers (problems, notes).
AuditCheck = Callable[[AsyncSession, list[str]], Awaitable[tuple[list[str], list[str]]]]
GAVE_BACK = ("refunded", "canceled", "cancelled")


@dataclass
class OfferAudit:
    offer_id: str
    status: str
    quantity: int
    available: int
    held: int
    sold_redis: int
    sold_db: int
    returned: int
    checking_out: int
    oversold: int
    problems: list[str] = field(default_factory=list)


@dataclass
class AuditReport:
    offers: list[OfferAudit]
    problems: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(not o.problems for o in self.offers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "notes": self.notes,
            "offers": [asdict(o) for o in self.offers],
        }


async def audit_offer(session: AsyncSession, inventory: Inventory, offer: Offer) -> OfferAudit:
    sold_db = int(
        (
            await session.execute(
                select(func.coalesce(func.sum(Order.quantity), 0)).where(
                    Order.offer_id == offer.id, Order.status.in_(SOLD_STATUSES)
                )
            )
        ).scalar_one()
    )
    state = await inventory.state(offer.id)
    holds = await inventory.holds_of(offer.id)
    checking = [h for h, (_, _, _, st) in holds.items() if st == "c"]
    if checking:  # checkouts in flight: count those whose order already committed as sold
        committed = (
            await session.execute(
                select(func.coalesce(func.sum(Order.quantity), 0)).where(
                    Order.reservation_id.in_(checking), Order.status.in_(SOLD_STATUSES)
                )
            )
        ).scalar_one()
    else:
        committed = 0
    a = OfferAudit(
        offer.id,
        offer.status,
        offer.quantity,
        0,
        0,
        0,
        sold_db,
        0,
        len(checking),
        max(sold_db - offer.quantity, 0),
    )
    if sold_db > offer.quantity:
        a.problems.append(f"oversold: {sold_db} sold of {offer.quantity}")
    if state is None:
        if offer.status == "active":
            a.problems.append("counters missing from Redis (the sweeper rebuilds them)")
        return a
    a.available, a.held, a.sold_redis = int(state["available"]), int(state["held"]), int(state["sold"])
    a.returned = int(state.get("returned", 0))
    if min(a.available, a.held, a.sold_redis) < 0:
        a.problems.append("negative counter")
    total = a.available + a.held + a.sold_redis + a.returned
    if total != offer.quantity:
        a.problems.append(f"available+held+sold+returned = {total} != {offer.quantity}")
    if a.sold_redis > offer.quantity:
        a.problems.append("Redis sold exceeds quantity")
    if a.sold_redis + int(committed) != sold_db:
        a.problems.append(f"sold in Redis ({a.sold_redis}) != sold in the database ({sold_db})")
    a.problems += await _order_marks(session, inventory, offer.id)
    return a


async def _order_marks(session: AsyncSession, inventory: Inventory, offer_id: str) -> list[str]:
    """Each paid order has its units and each refunded or canceled one gave them back, as the order's
    mark in Redis (pay.lua / unsell.lua) shows."""
    raw = await inventory.redis.hgetall(order_marks_key(offer_id))
    if not raw:
        return []
    marks = {_text(k): _text(v) for k, v in raw.items()}
    rows = await session.execute(select(Order.id, Order.status).where(Order.id.in_(list(marks))))
    problems = []
    for order_id, status in rows.all():
        mark = marks[order_id]
        if status in SOLD_STATUSES and mark == "back":
            problems.append(f"order {order_id} is {status} but its units were given back")
        elif status in GAVE_BACK and mark in ("sold", "late"):
            problems.append(f"order {order_id} is {status} but its units are still sold")
        elif status == "pending_payment" and mark in ("sold", "late"):
            problems.append(f"order {order_id} sold in Redis but still pending (reconciliation settles it)")
    return problems


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def run_audit(
    sessionmaker: async_sessionmaker[AsyncSession],
    inventory: Inventory,
    offer_ids: list[str] | None = None,
    checks: list[AuditCheck] | None = None,
) -> AuditReport:
    problems: list[str] = []
    async with sessionmaker() as session:
        query = select(Offer).order_by(Offer.created_at)
        if offer_ids is not None:
            query = query.where(Offer.id.in_(offer_ids))
        offers = (await session.execute(query)).scalars().all()
        audits = [await audit_offer(session, inventory, o) for o in offers]
        negative = (await session.execute(select(Product.sku).where(Product.stock < 0))).scalars().all()
        problems += [f"product {sku} has negative stock" for sku in negative]
        flagged = int(
            (
                await session.execute(
                    select(func.count()).select_from(Order).where(Order.status == "flagged")
                )
            ).scalar_one()
        )
        notes = [f"{flagged} platform orders found no units and await cancellation"] if flagged else []
        for check in checks or []:
            more, said = await check(session, [o.offer_id for o in audits])
            problems += more
            notes += said
    return AuditReport(audits, problems, notes)


def format_report(report: AuditReport) -> str:
    lines = [
        f"{'offer':<24} {'status':<7} {'qty':>6} {'avail':>6} {'held':>6} {'sold':>6} {'sold_db':>7} "
        f"{'ret':>6} {'oversold':>8}  problems"
    ]
    for o in report.offers:
        lines.append(
            f"{o.offer_id:<24} {o.status:<7} {o.quantity:>6} {o.available:>6} {o.held:>6} "
            f"{o.sold_redis:>6} {o.sold_db:>7} {o.returned:>6} {o.oversold:>8}  {'; '.join(o.problems)}"
        )
    lines += [f"! {p}" for p in report.problems]
    lines += [f"note: {n}" for n in report.notes]
    lines.append("audit: OK" if report.ok else "audit: VIOLATIONS FOUND")
    return "\n".join(lines)
