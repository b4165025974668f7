"""Taking the money: providers (Stripe, Toss Payments), payment webhooks, reconciliation, refunds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from server.api.context import CLOCK, DB, EVENTS, INVENTORY, SETTINGS
from server.payments.audit import money_check
from server.payments.checkout import PaymentDesk
from server.payments.config import PaymentSettings
from server.payments.ledger import Ledger
from server.payments.reconcile import Reconciler
from server.payments.state import PAYMENTS_STATE, PaymentsState
from server.tasks import bounded, stop_task

__all__ = ["PAYMENTS_STATE", "PaymentSettings", "money_check", "setup"]


def setup(
    app: web.Application, *, reconcile: bool = True, config: PaymentSettings | None = None
) -> PaymentDesk:
    """Routes now, and the desk app.py wires as the checkout seam; the provider and the reconciliation
    loop when the app starts (so tests may call `app[PAYMENTS_STATE].configure(...)` before that)."""
    from server.payments import routes, testcard, webhooks
    from server.payments.providers import build_provider

    config = config or app[SETTINGS].payments
    desk = PaymentDesk(app[DB], config)
    ledger = Ledger(app[DB], app[INVENTORY], app[EVENTS], None)
    state = PaymentsState(config, desk, ledger, Reconciler(app[DB], ledger, config, app[CLOCK]))
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
        await stop_task(task, what="payments reconciliation")
        if provider is not None:
            await bounded(provider.close(), what="payment provider client")

    app.cleanup_ctx.append(lifecycle)
    return desk
