"""`liveshop serve --demo` takes money too: with no provider configured, the Stripe sandbox starts
beside the node (loopback only, a free port) and the node's payments point at it, webhooks included."""

from __future__ import annotations

from aiohttp import web

from server.payments.config import PaymentSettings
from server.payments.sandbox import Running, serve
from server.payments.sandbox import stripe as stripe_box
from server.payments.state import PAYMENTS_STATE

SANDBOX = web.AppKey("demo_stripe_sandbox", Running)


def wire_demo_payments(app: web.Application, node_url: str) -> bool:
    """Start a Stripe sandbox with the app (before payments builds its provider) and point payments
    at it. False when the shop already has a provider of its own."""
    state = app[PAYMENTS_STATE]
    if state.config.provider is not None:
        return False

    async def sandbox(app: web.Application):  # type: ignore[no-untyped-def]
        running = await serve(stripe_box.make_app(webhook_url=node_url + "/api/v1/webhooks/stripe"))
        app[SANDBOX] = running
        values = {k.removeprefix("LIVESHOP_").lower(): v for k, v in stripe_box.env(running.url).items()}
        state.configure(PaymentSettings(**{**state.config.model_dump(), **values}))
        yield
        await running.close()

    app.cleanup_ctx.insert(0, sandbox)
    return True


def sandbox_url(app: web.Application) -> str | None:
    return app[SANDBOX].url if SANDBOX in app else None
