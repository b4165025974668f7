"""The one small interface every payment provider answers, and the two ways a call can fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Intent:
    """A provider-side payment as liveshop needs it. `status` is one of created, requires_action,
    processing, failed (declined; the buyer may try again), succeeded, canceled."""

    ref: str
    status: str
    amount: int  # minor units of `currency`
    currency: str  # ISO 4217, upper-case
    order_id: str | None
    client_secret: str | None = None
    error: str | None = None  # the provider's message for the last decline


class ProviderUnavailable(Exception):
    """The provider did not answer (down, slow, 5xx, throttled): nothing is known; retry later."""


class ProviderRefused(Exception):
    """The provider answered no (declined card, invalid request): retrying the same call will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Provider(Protocol):
    """Stripe and Toss Payments behind the same verbs (a verb a provider lacks raises NotImplementedError)."""

    name: str

    async def create(self, order_id: str, amount: int, currency: str, description: str) -> Intent:
        """A payment the buyer completes on their side (Stripe: a PaymentIntent), once per order."""
        ...

    async def confirm(self, ref: str, order_id: str, amount: int) -> Intent:
        """Take money the buyer authorised on their side (Toss: confirm the widget's paymentKey)."""
        ...

    async def retrieve(self, ref: str) -> Intent:
        """The provider's current word on one payment (reconciliation)."""
        ...

    async def cancel(self, ref: str) -> Intent:
        """Stop an unpaid payment so it can no longer succeed."""
        ...

    async def refund(self, ref: str, amount: int, reason: str, idempotency_key: str) -> str:
        """Give the money back; returns the provider's refund id. Idempotent per key."""
        ...

    async def close(self) -> None: ...
