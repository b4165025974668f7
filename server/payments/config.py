"""Payment settings: which provider takes the money (none set: orders are confirmed at once)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

STRIPE_API = "https://api.stripe.com"
TOSS_API = "https://api.tosspayments.com"


class PaymentSettings(BaseSettings):
    """Read from LIVESHOP_* variables; the *_BASE_URL overrides point providers at the sandboxes."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", extra="ignore", frozen=True)

    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_publishable_key: str = Field("", description="handed to the buyer's page for Stripe.js")
    stripe_base_url: str = Field(STRIPE_API, description="the API's root without /v1")
    toss_secret_key: str = ""
    toss_client_key: str = Field("", description="handed to the buyer's page for Toss's widget")
    toss_base_url: str = TOSS_API
    payment_seconds: int = Field(600, ge=30, le=7 * 86400, description="how long an order waits to be paid")
    payment_timeout_s: float = Field(10.0, gt=0, le=120, description="one provider call's time limit")
    payment_reconcile_s: float = Field(15.0, gt=0, le=3600, description="how often pending ones are checked")
    payment_stale_s: float = Field(
        60.0, ge=0, le=86400, description="a pending payment this old is asked about at the provider"
    )

    @property
    def provider(self) -> str | None:
        """stripe, toss or None (Stripe wins if both are set)."""
        if self.stripe_secret_key:
            return "stripe"
        if self.toss_secret_key:
            return "toss"
        return None


@lru_cache(maxsize=1)
def get_payment_settings() -> PaymentSettings:
    return PaymentSettings()
