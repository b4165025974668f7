"""The reconciliation loop: asks the provider about orders pending too long (so a lost webhook heals on
its own), cancels the ones whose payment never came, and retries refunds the provider missed.

Every node may run it: each step goes through the ledger, which applies a provider's word once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import SYSTEM_CLOCK, Clock
from server.inventory.models import Order
from server.payments.config import PaymentSettings
from server.payments.ledger import LIVE, NOTICE_UNPAID, Ledger
from server.payments.models import Payment
from server.payments.providers.base import ProviderRefused, ProviderUnavailable

log = logging.getLogger("liveshop.payments")
BATCH = 200


class Reconciler:
    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        ledger: Ledger,
        config: PaymentSettings,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.db = db
        self.clock = clock
        self.ledger = ledger
        self.config = config
        self.stats = {"asked": 0, "settled": 0, "canceled": 0, "refunds": 0}

    async def _live(self, order_id: str) -> list[Payment]:
        async with self.db() as session:
            rows = await session.execute(
                select(Payment).where(Payment.order_id == order_id, Payment.status.in_(LIVE))
            )
            return list(rows.scalars().all())

    async def cancel(self, order_id: str, notice: str) -> str:
        """Stop an unpaid order: its payments are canceled at the provider first, so none can succeed
        after its units returned (one that already did is settled as paid instead)."""
        provider = self.ledger.provider
        if provider is not None:
            if provider.name == "toss":
                intent = await provider.retrieve_order(order_id)  # type: ignore[attr-defined]
                if intent is not None and intent.status == "succeeded":
                    return (await self.ledger.succeeded("toss", intent)).outcome
            for payment in await self._live(order_id):
                try:
                    intent = await provider.cancel(payment.provider_ref)
                except ProviderRefused:  # e.g. it succeeded a moment ago
                    intent = await provider.retrieve(payment.provider_ref)
                if intent.status == "succeeded":
                    return (await self.ledger.succeeded(provider.name, intent)).outcome
        name = provider.name if provider is not None else "none"
        return (await self.ledger.canceled(name, None, order_id, None, notice)).outcome

    async def once(self, now: datetime | None = None) -> dict[str, int]:
        """One pass, as of the node's clock (or `now`)."""
        now = now or datetime.fromtimestamp(self.clock.time(), UTC)
        await self._refunds()
        stale = now - timedelta(seconds=self.config.payment_stale_s)
        async with self.db() as session:
            pending = (
                await session.execute(
                    select(Order.id, Order.created_at)
                    .where(Order.status == "pending_payment", Order.created_at <= stale)
                    .order_by(Order.created_at)
                    .limit(BATCH)
                )
            ).all()
        for order_id, created_at in pending:
            overdue = created_at + timedelta(seconds=self.config.payment_seconds) <= now
            try:
                await self._check(order_id, overdue)
            except ProviderUnavailable as exc:
                log.warning("reconciliation deferred order=%s error=%s", order_id, exc)
            except Exception:
                log.exception("reconciliation failed order=%s", order_id)
        return dict(self.stats)

    async def _check(self, order_id: str, overdue: bool) -> None:
        provider = self.ledger.provider
        self.stats["asked"] += 1
        if provider is not None and provider.name == "toss":
            intent = await provider.retrieve_order(order_id)  # type: ignore[attr-defined]
            if intent is not None and intent.status == "succeeded":
                await self.ledger.succeeded("toss", intent)
                self.stats["settled"] += 1
                return
        elif provider is not None:
            for payment in await self._live(order_id):
                intent = await provider.retrieve(payment.provider_ref)
                if intent.status == "succeeded":
                    await self.ledger.succeeded(provider.name, intent)
                    self.stats["settled"] += 1
                    return
                if (
                    intent.status in ("failed", "requires_action", "canceled")
                    and intent.status != payment.status
                ):
                    await self.ledger.progressed(provider.name, intent)
        if overdue:
            await self.cancel(order_id, NOTICE_UNPAID)
            self.stats["canceled"] += 1

    async def _refunds(self) -> None:
        async with self.db() as session:
            due = (
                (
                    await session.execute(
                        select(Payment.id)
                        .where(Payment.status == "refund_pending")
                        .order_by(Payment.updated_at)
                        .limit(BATCH)
                    )
                )
                .scalars()
                .all()
            )
        for payment_id in due:
            if await self.ledger.refund_payment(payment_id):
                self.stats["refunds"] += 1

    async def run(self) -> None:
        while True:
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reconciliation pass failed error=%r", exc)
            await asyncio.sleep(self.config.payment_reconcile_s)
