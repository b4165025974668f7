"""Toss Payments over its HTTP API: the buyer's widget returns a paymentKey, the server confirms it
(`POST /v1/payments/confirm`), refunds cancel it (`POST /v1/payments/{paymentKey}/cancel`). Basic
auth with the secret key and ':'; an Idempotency-Key on every POST."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp

from server.payments.config import PaymentSettings
from server.payments.providers.base import Intent, ProviderRefused, ProviderUnavailable

STATUSES = {
    "READY": "created",
    "IN_PROGRESS": "requires_action",
    "WAITING_FOR_DEPOSIT": "processing",
    "DONE": "succeeded",
    "CANCELED": "canceled",
    "PARTIAL_CANCELED": "succeeded",
    "ABORTED": "failed",
    "EXPIRED": "canceled",
}


def intent_of(payment: dict[str, Any]) -> Intent:
    failure = payment.get("failure") or {}
    return Intent(
        ref=str(payment.get("paymentKey", "")),
        status=STATUSES.get(str(payment.get("status")), "created"),
        amount=int(payment.get("totalAmount") or 0),
        currency=str(payment.get("currency") or "KRW").upper(),
        order_id=payment.get("orderId"),
        error=failure.get("message"),
    )


class TossProvider:
    name = "toss"

    def __init__(self, settings: PaymentSettings) -> None:
        self.base = settings.toss_base_url.rstrip("/")
        self.timeout = settings.payment_timeout_s
        auth = base64.b64encode(f"{settings.toss_secret_key.get_secret_value()}:".encode()).decode()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200),
            timeout=aiohttp.ClientTimeout(total=settings.payment_timeout_s),
            headers={"Authorization": f"Basic {auth}"},
        )

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None, key: str = "") -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            async with asyncio.timeout(self.timeout):
                async with self._session.request(method, self.base + path, json=body, headers=headers) as r:
                    data = await r.json(content_type=None) if r.content_length != 0 else {}
                    status = r.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ProviderUnavailable(f"toss {path}: {exc!r}") from exc
        except ValueError as exc:
            raise ProviderUnavailable(f"toss {path}: unreadable answer") from exc
        if status >= 500 or status == 429:
            raise ProviderUnavailable(f"toss {path}: HTTP {status}")
        if status >= 400:
            data = data if isinstance(data, dict) else {}
            raise ProviderRefused(str(data.get("code", status)), str(data.get("message", "refused")))
        return data

    async def create(self, order_id: str, amount: int, currency: str, description: str) -> Intent:
        """Toss has nothing to create before the buyer pays: the widget takes orderId and amount."""
        return Intent(ref="", status="created", amount=amount, currency=currency.upper(), order_id=order_id)

    async def confirm(self, ref: str, order_id: str, amount: int) -> Intent:
        body = {"paymentKey": ref, "orderId": order_id, "amount": amount}
        return intent_of(await self._call("POST", "/v1/payments/confirm", body, f"confirm-{order_id}-{ref}"))

    async def retrieve(self, ref: str) -> Intent:
        return intent_of(await self._call("GET", f"/v1/payments/{ref}"))

    async def retrieve_order(self, order_id: str) -> Intent | None:
        """The payment Toss holds for one of our order ids, or None (the buyer never paid)."""
        try:
            return intent_of(await self._call("GET", f"/v1/payments/orders/{order_id}"))
        except ProviderRefused as exc:
            if exc.code in ("NOT_FOUND_PAYMENT", "NOT_FOUND", "404"):
                return None
            raise

    async def cancel(self, ref: str) -> Intent:
        raise NotImplementedError("an unconfirmed Toss payment takes no money; there is nothing to cancel")

    async def refund(self, ref: str, amount: int, reason: str, idempotency_key: str) -> str:
        body = {"cancelReason": reason[:200] or "refund", "cancelAmount": amount}
        data = await self._call("POST", f"/v1/payments/{ref}/cancel", body, idempotency_key)
        cancels = data.get("cancels") or [{}]
        return str(cancels[-1].get("transactionKey") or ref)

    async def close(self) -> None:
        await self._session.close()
