"""Taking the money: providers (Stripe, Toss Payments), payment webhooks, reconciliation, refunds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from server.api.context import DB, EVENTS, INVENTORY
from server.payments.audit import money_check
from server.payments.checkout import PaymentDesk
from server.payments.config import PaymentSettings, get_payment_settings
from server.payments.ledger import Ledger
from server.payments.reconcile import Reconciler
from server.payments.state import PAYMENTS_STATE, PaymentsState

__all__ = ["PAYMENTS_STATE", "PaymentSettings", "money_check", "setup"]


def setup(
    app: web.Application, *, reconcile: bool = True, config: PaymentSettings | None = None
) -> PaymentDesk:
    """Routes now, and the desk app.py wires as the checkout seam; the provider and the reconciliation
    loop when the app starts (so tests may call `app[PAYMENTS_STATE].configure(...)` before that)."""
    from server.payments import routes, testcard, webhooks
    from server.payments.providers import build_provider

    config = config or get_payment_settings()
    desk = PaymentDesk(app[DB], config)
    ledger = Ledger(app[DB], app[INVENTORY], app[EVENTS], None)
    state = PaymentsState(config, desk, ledger, Reconciler(app[DB], ledger, config))
    app[PAYMENTS_STATE] = state
    webhooks.router.install(app)
    routes.router.install(app)
    testcard.router.install(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        provider = build_provider(state.config)
        desk.provider = ledger.provider = provider
        task = None
        if reconcile and provider is not None:
            task = asyncio.create_task(state.reconciler.run(), name="payments-reconcile")
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if provider is not None:
            await provider.close()

    app.cleanup_ctx.append(lifecycle)
    return desk
