"""The money side of the audit: no payment kept for an order that has no units, no paid order without
its payment, and refunds still owed (the reconciliation loop makes them)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.inventory.models import Order
from server.payments.models import Payment

KEPT_FOR = ("paid", "fulfilled")


async def money_check(session: AsyncSession, offer_ids: list[str]) -> tuple[list[str], list[str]]:
    """(problems, notes) over the orders of `offer_ids` (every order when the list is empty)."""
    scope = Order.offer_id.in_(offer_ids) if offer_ids else Order.id.is_not(None)
    kept = (
        await session.execute(
            select(Payment.id, Order.id, Order.status)
            .join(Order, Order.id == Payment.order_id)
            .where(scope, Payment.status == "succeeded", Order.status.not_in(KEPT_FOR))
        )
    ).all()
    problems = [f"payment {p} kept for order {o}, which is {s}" for p, o, s in kept]
    doubled = (
        await session.execute(
            select(Payment.order_id, func.count())
            .join(Order, Order.id == Payment.order_id)
            .where(scope, Payment.status == "succeeded")
            .group_by(Payment.order_id)
            .having(func.count() > 1)
        )
    ).all()
    problems += [f"order {o} keeps {n} payments" for o, n in doubled]
    unpaid = (
        (
            await session.execute(
                select(Order.id)
                .where(scope, Order.status.in_(KEPT_FOR), Order.payment.is_not(None))
                .where(
                    ~select(Payment.id)
                    .where(Payment.order_id == Order.id, Payment.status == "succeeded")
                    .exists()
                )
            )
        )
        .scalars()
        .all()
    )
    problems += [f"order {o} is paid but holds no payment" for o in unpaid]
    owed = int(
        (
            await session.execute(
                select(func.count())
                .select_from(Payment)
                .join(Order, Order.id == Payment.order_id)
                .where(scope, Payment.status == "refund_pending")
            )
        ).scalar_one()
    )
    notes = [f"{owed} refunds decided, not yet confirmed by the provider"] if owed else []
    return problems, notes
