"""What checkout asks of payments: whether the shop takes money online, and each order's payment."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import new_id, utcnow
from server.errors import DomainError, NotFound
from server.inventory.models import Order
from server.payments.config import STRIPE_API, TOSS_API, PaymentSettings
from server.payments.ledger import LIVE
from server.payments.models import Payment
from server.payments.providers.base import Provider, ProviderRefused, ProviderUnavailable

log = logging.getLogger("liveshop.payments")


class PaymentDesk:
    """The CheckoutPayments seam (server.api.context) as the payments feature answers it."""

    def __init__(self, db: async_sessionmaker[AsyncSession], config: PaymentSettings) -> None:
        self.db = db
        self.config = config
        self.provider: Provider | None = None  # built when the app starts

    @property
    def enabled(self) -> bool:
        return self.config.provider is not None

    def deadline_ms(self, created_ms: int) -> int:
        return created_ms + self.config.payment_seconds * 1000

    def _block(self, order: Order, **fields: Any) -> dict[str, Any]:
        deadline = order.created_at + timedelta(seconds=self.config.payment_seconds)
        block: dict[str, Any] = {
            "provider": self.config.provider,
            "id": None,
            "client_secret": None,
            "status": "created",
            "amount": order.total,
            "currency": order.currency,
            "deadline": deadline.isoformat(),
        }
        if self.config.provider == "stripe":
            block["publishable_key"] = self.config.stripe_publishable_key or None
            if self.config.stripe_base_url.rstrip("/") != STRIPE_API:  # the test-card page's sandbox
                block["sandbox"] = self.config.stripe_base_url.rstrip("/")
        else:
            block["client_key"] = self.config.toss_client_key or None
            block["order_name"] = f"liveshop order {order.id}"
            if self.config.toss_base_url.rstrip("/") != TOSS_API:
                block["sandbox"] = self.config.toss_base_url.rstrip("/")
        block.update(fields)
        return block

    async def open(self, order_id: str, order: Order | None = None) -> dict[str, Any]:
        """`order`: the order just committed by checkout (no payment yet), which saves reading it."""
        if order is None or order.payment is not None:
            async with self.db() as session:
                order = await session.get(Order, order_id)
                live = (
                    await session.execute(
                        select(Payment.id).where(Payment.order_id == order_id, Payment.status.in_(LIVE))
                    )
                ).first()
            if order is None:
                raise NotFound("order")
            if order.payment and (live is not None or order.payment.get("provider") == "toss"):
                return dict(order.payment)
        if self.provider is None:
            raise DomainError("payments_off", "This shop takes no online payment")
        if self.provider.name == "toss":  # nothing to create before the buyer's widget pays
            return await self._store(order_id, self._block(order, id=order.id), None)
        try:
            intent = await self.provider.create(
                order.id, order.total, order.currency, f"liveshop order {order.id} ({order.quantity} unit(s))"
            )
        except ProviderUnavailable as exc:
            log.warning("payment not opened order=%s error=%s", order_id, exc)
            err = DomainError(
                "payment_unavailable",
                "The payment provider did not answer; your reservation still holds, please retry",
            )
            err.headers["Retry-After"] = "2"
            raise err from exc
        except ProviderRefused as exc:
            log.error("provider refused to open a payment order=%s error=%s", order_id, exc)
            raise DomainError(
                "payment_unavailable", f"The payment could not be opened: {exc.message}"
            ) from exc
        block = self._block(order, id=intent.ref, client_secret=intent.client_secret, status=intent.status)
        payment = Payment(
            id=new_id("pa"),
            order_id=order.id,
            provider=self.provider.name,
            provider_ref=intent.ref,
            amount=intent.amount,
            currency=intent.currency,
            status=intent.status,
        )
        return await self._store(order_id, block, payment)

    async def _store(self, order_id: str, block: dict[str, Any], payment: Payment | None) -> dict[str, Any]:
        """The payment row and the order's block in one short transaction (no read first: the block is
        written only while the order still waits and has none; a twin's row makes this one a no-op)."""
        try:
            async with self.db() as session, session.begin():
                if payment is not None:
                    await session.execute(
                        _insert(session, Payment)
                        .values(
                            id=payment.id,
                            order_id=payment.order_id,
                            provider=payment.provider,
                            provider_ref=payment.provider_ref,
                            amount=payment.amount,
                            currency=payment.currency,
                            status=payment.status,
                            created_at=utcnow(),
                            updated_at=utcnow(),
                        )
                        .on_conflict_do_nothing()
                    )
                stored = await session.execute(
                    update(Order)
                    .where(Order.id == order_id, Order.status == "pending_payment", Order.payment.is_(None))
                    .values(payment=block)
                )
                if stored.rowcount == 1:  # type: ignore[attr-defined]
                    return block
        except IntegrityError:
            pass
        async with self.db() as session:  # a twin stored its block first, or the order moved on
            order = await session.get(Order, order_id)
            return dict((order.payment if order else None) or block)


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
