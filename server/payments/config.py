"""Payment settings live in the one settings object (`Settings.payments`); this names them for the feature."""

from __future__ import annotations

from server.config import STRIPE_API, TOSS_API, PaymentSettings

__all__ = ["STRIPE_API", "TOSS_API", "PaymentSettings"]
