"""Payment providers behind one interface; `build_provider` picks the one the settings name."""

from __future__ import annotations

from server.payments.config import PaymentSettings
from server.payments.providers.base import Intent, Provider, ProviderRefused, ProviderUnavailable

__all__ = ["Intent", "Provider", "ProviderRefused", "ProviderUnavailable", "build_provider"]


def build_provider(settings: PaymentSettings) -> Provider | None:
    if settings.provider == "stripe":
        from server.payments.providers.stripe import StripeProvider

        return StripeProvider(settings)
    if settings.provider == "toss":
        from server.payments.providers.toss import TossProvider

        return TossProvider(settings)
    return None
