"""Stripe through its official library's async client: PaymentIntents with automatic payment methods
(cards, wallets, BLIK, Przelewy24 ... whatever the shop enables in its dashboard), one per order."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import stripe

from server.payments.config import PaymentSettings
from server.payments.money import stripe_amount
from server.payments.providers.base import Intent, ProviderRefused, ProviderUnavailable

log = logging.getLogger("liveshop.payments")

STATUSES = {
    "requires_payment_method": "created",
    "requires_confirmation": "created",
    "requires_action": "requires_action",
    "processing": "processing",
    "requires_capture": "processing",
    "succeeded": "succeeded",
    "canceled": "canceled",
}


def intent_of(pi: Any) -> Intent:
    """A PaymentIntent (library object or a webhook's plain dict) as an Intent."""
    data: dict[str, Any] = pi if isinstance(pi, dict) else pi.to_dict()
    get = data.get
    metadata = get("metadata") or {}
    status = STATUSES.get(str(get("status")), "created")
    error = get("last_payment_error")
    message = None
    if error:
        message = (
            error.get("message") if isinstance(error, dict) else getattr(error, "message", None)
        ) or "declined"
        if status == "created":
            status = "failed"
    return Intent(
        ref=str(get("id")),
        status=status,
        amount=int(get("amount") or 0),
        currency=str(get("currency") or "").upper(),
        order_id=metadata.get("order_id") if isinstance(metadata, dict) else None,
        client_secret=get("client_secret"),
        error=message,
    )


class StripeProvider:
    """One StripeClient over one aiohttp session (the library's AIOHTTPClient), no library retries:
    a slow or failing Stripe is answered at once (503, the hold kept) and retried by the caller."""

    name = "stripe"

    def __init__(self, settings: PaymentSettings) -> None:
        self.timeout = settings.payment_timeout_s
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200),
            timeout=aiohttp.ClientTimeout(total=settings.payment_timeout_s),
        )
        self.client = stripe.StripeClient(
            settings.stripe_secret_key.get_secret_value(),
            base_addresses={"api": settings.stripe_base_url.rstrip("/")},
            http_client=stripe.AIOHTTPClient(session=self._session, timeout=None),
            max_network_retries=0,
        )

    async def _call(self, what: str, call: Any) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                return await call
        except TimeoutError as exc:
            raise ProviderUnavailable(f"stripe {what}: timed out") from exc
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(f"stripe {what}: {exc.user_message or exc}") from exc
        except stripe.StripeError as exc:
            code = getattr(exc, "code", None) or type(exc).__name__
            raise ProviderRefused(str(code), str(exc.user_message or exc)) from exc

    async def create(self, order_id: str, amount: int, currency: str, description: str) -> Intent:
        value, code = stripe_amount(amount, currency)
        pi = await self._call(
            "create",
            self.client.v1.payment_intents.create_async(
                params={
                    "amount": value,
                    "currency": code,
                    "automatic_payment_methods": {"enabled": True},
                    "metadata": {"order_id": order_id},
                    "description": description[:1000],
                },
                options={"idempotency_key": f"liveshop-order-{order_id}"},
            ),
        )
        return intent_of(pi)

    async def confirm(self, ref: str, order_id: str, amount: int) -> Intent:
        raise NotImplementedError("Stripe payments are confirmed by the buyer's Payment Element")

    async def retrieve(self, ref: str) -> Intent:
        return intent_of(await self._call("retrieve", self.client.v1.payment_intents.retrieve_async(ref)))

    async def cancel(self, ref: str) -> Intent:
        return intent_of(await self._call("cancel", self.client.v1.payment_intents.cancel_async(ref)))

    async def refund(self, ref: str, amount: int, reason: str, idempotency_key: str) -> str:
        refund = await self._call(
            "refund",
            self.client.v1.refunds.create_async(
                params={"payment_intent": ref, "amount": amount, "metadata": {"reason": reason[:500]}},
                options={"idempotency_key": idempotency_key},
            ),
        )
        return str(refund.id)

    async def close(self) -> None:
        await self._session.close()
