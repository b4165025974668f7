"""Mirror configuration: credentials per platform (a platform with none is off) and delivery knobs."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

CHANNELS = ("tiktok", "shopify", "meta", "google")


class MirrorSettings(BaseSettings):
    """Read from LIVESHOP_* variables; the *_BASE_URL overrides point connectors at the sandboxes."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", extra="ignore", frozen=True)

    # TikTok Shop (Partner Center app)
    tiktok_app_key: str = ""
    tiktok_app_secret: str = ""
    tiktok_access_token: str = ""
    tiktok_shop_cipher: str = ""
    tiktok_warehouse_id: str = ""
    tiktok_base_url: str = "https://open-api.tiktokglobalshop.com"
    # Shopify Admin GraphQL
    shopify_shop: str = Field("", description="shop name, e.g. my-brand (for my-brand.myshopify.com)")
    shopify_token: str = ""
    shopify_webhook_secret: str = ""
    shopify_location_id: str = ""
    shopify_api_version: str = "2026-04"
    shopify_base_url: str = ""
    # Meta catalog + commerce orders
    meta_access_token: str = ""
    meta_app_secret: str = ""
    meta_catalog_id: str = ""
    meta_cms_id: str = Field("", description="commerce account id, for polling commerce_orders")
    meta_api_version: str = "v25.0"
    meta_base_url: str = "https://graph.facebook.com"
    # Google Merchant API (YouTube Shopping)
    google_access_token: str = ""
    google_merchant_id: str = ""
    google_data_source_id: str = ""
    google_content_language: str = "en"
    google_feed_label: str = "US"
    google_base_url: str = "https://merchantapi.googleapis.com"
    # delivery
    mirror_poll_s: float = Field(0.25, gt=0, le=30, description="how often the worker looks for work")
    mirror_order_poll_s: float = Field(30.0, gt=0, description="how often platform orders are polled")
    mirror_stock_interval_s: float = Field(
        1.0, ge=0, le=3600, description="at most one stock write per SKU and platform this often"
    )
    mirror_lease_s: float = Field(30.0, gt=0, description="a claimed job is redelivered after this")
    mirror_max_attempts: int = Field(10, ge=1, le=100, description="failures before a job is dead")
    mirror_backoff_base_s: float = Field(0.5, gt=0)
    mirror_backoff_max_s: float = Field(60.0, gt=0)
    mirror_timeout_s: float = Field(10.0, gt=0, description="per platform request")
    mirror_concurrency: int = Field(4, ge=1, le=64, description="requests in flight per platform")
    mirror_batch: int = Field(50, ge=1, le=1000, description="jobs claimed at once per platform")
    mirror_reconcile_s: float = Field(30.0, gt=0, description="full stock comparison this often")
    # outbound webhooks to the shop's own systems (Stripe-like: retries spread over hours)
    webhook_max_attempts: int = Field(12, ge=1, le=100, description="failures before a delivery is dead")
    webhook_backoff_base_s: float = Field(10.0, gt=0, description="first retry after about this")
    webhook_backoff_max_s: float = Field(3600.0, gt=0, description="retries at most this far apart")
    webhook_timeout_s: float = Field(10.0, gt=0, description="per delivery")
    webhook_batch: int = Field(20, ge=1, le=500, description="deliveries sent side by side per pass")
    webhook_allow_private: bool = Field(
        False,
        description="let endpoints be loopback or private addresses (a shop system on the same network)",
    )

    def enabled(self) -> list[str]:
        """Platforms whose credentials are all present."""
        on = []
        if self.tiktok_app_key and self.tiktok_app_secret and self.tiktok_access_token:
            on.append("tiktok")
        if self.shopify_token and (self.shopify_shop or self.shopify_base_url) and self.shopify_location_id:
            on.append("shopify")
        if self.meta_access_token and self.meta_catalog_id:
            on.append("meta")
        if self.google_access_token and self.google_merchant_id and self.google_data_source_id:
            on.append("google")
        return on

    @property
    def shopify_graphql_url(self) -> str:
        base = self.shopify_base_url.rstrip("/") or f"https://{self.shopify_shop}.myshopify.com"
        return f"{base}/admin/api/{self.shopify_api_version}/graphql.json"


@lru_cache(maxsize=1)
def get_mirror_settings() -> MirrorSettings:
    return MirrorSettings()  # type: ignore[call-arg]
