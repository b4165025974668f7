"""One settings object, read from LIVESHOP_* environment variables and validated at start.

`Settings` holds the node's own knobs and one section per feature (`chat`, `media`, `mirror`,
`payments`); every section reads the same LIVESHOP_* names as always. Secrets are `SecretStr`: never
printed or logged.
"""

from __future__ import annotations

import ipaddress
import secrets
from functools import lru_cache
from typing import Literal

import limits
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.redis_url import parse_redis_url
from server.signing_secret import check_secret, embedded_secret

EMBEDDED_REDIS = "memory://"
EMBEDDED_DATABASE = "sqlite+aiosqlite:///liveshop.db"
CHANNELS = ("tiktok", "shopify", "meta", "google")


class ChatSettings(BaseSettings):
    """The live room: LIVESHOP_CHAT_*."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_CHAT_", extra="ignore", frozen=True)

    tick_ms: int = Field(200, ge=10, le=2000, description="Batch window for chat delivery under load")
    rate_per_s: float = Field(1.0, gt=0, le=1000, description="Sustained messages per second per user")
    burst: int = Field(5, ge=1, le=1000, description="Messages a user may send at once")
    history_cap: int = Field(200, ge=50, le=10_000, description="Recent messages kept in Redis")
    stock_interval_ms: int = Field(250, ge=50, le=5000, description="At most one stock update per offer")
    viewers_interval_s: float = Field(1.0, ge=0.2, le=60)
    report_sample_s: float = Field(
        10.0, ge=1, le=3600, description="The sale report's time buckets: viewers and chat per bucket"
    )
    ws_compress: bool = Field(False, description="Offer permessage-deflate on socket.io websockets")


class MediaSettings(BaseSettings):
    """Media: ICE networking, encoder caps and session limits of the WHIP/WHEP endpoints (LIVESHOP_*)."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", extra="ignore", frozen=True)

    ice_host_addresses: str = Field(
        "",
        description="Comma-separated local IPs to gather ICE host candidates on; empty = every "
        "interface except loopback (aiortc's default). Tests use 127.0.0.1.",
    )
    ice_peer_networks: str = Field(
        "",
        description="Comma-separated CIDRs whose ICE checks are answered; empty = any peer. "
        "Tests use 127.0.0.0/8 so nothing is ever sent to another address.",
    )
    ice_announced_address: str = Field(
        "", description="Public IP announced as an extra host candidate (1:1 NAT, e.g. a cloud VM)"
    )
    ice_servers: str = Field(
        "", description="Comma-separated stun:/turn: URLs used by the server and advertised in Link headers"
    )
    ice_username: str = Field("", description="TURN username (the node's own; never sent to clients)")
    ice_credential: SecretStr = Field(SecretStr(""), description="TURN credential (the node's own)")
    ice_turn_secret: SecretStr = Field(
        SecretStr(""), description="coturn static-auth-secret: clients get short-lived TURN credentials"
    )
    ice_turn_ttl_s: int = Field(600, ge=60, le=86400, description="How long a client's TURN credential lasts")
    ice_deny_private: Literal["auto", "yes", "no"] = Field(
        "auto",
        description="Never send ICE checks to private, loopback or link-local peers unless they are in "
        "LIVESHOP_ICE_PEER_NETWORKS; auto = yes unless the node binds to loopback",
    )

    video_bitrate: int = Field(1_000_000, ge=100_000, le=20_000_000, description="Encoder target, bit/s")
    video_max_width: int = Field(1280, ge=16, le=7680)
    video_max_height: int = Field(720, ge=16, le=4320)
    keyframe_interval_s: float = Field(2.0, gt=0, le=30, description="Regular keyframe spacing")
    keyframe_min_gap_s: float = Field(
        0.5, ge=0, le=10, description="Forced keyframes (viewer joins, PLI) at most this often"
    )
    audio_bitrate: int = Field(64_000, ge=8_000, le=512_000)

    max_viewers_per_broadcast: int = Field(500, ge=1, le=100_000)
    max_sessions_per_client: int = Field(8, ge=1, le=100_000, description="Viewers per IP or user")
    session_idle_s: float = Field(
        30.0, gt=0, le=3600, description="A session not connected for this long is closed"
    )
    reconnect_grace_s: float = Field(
        60.0, gt=0, le=3600, description="How long viewers see 'reconnecting' before 'stopped'"
    )
    viewer_queue_frames: int = Field(
        30, ge=2, le=600, description="Frames a slow viewer may lag before it skips to the next keyframe"
    )
    reap_interval_s: float = Field(2.0, gt=0, le=60)

    hls_enabled: bool = Field(
        True, description="Package the H.264 encode as LL-HLS at /hls/{broadcast}/ and record it for replay"
    )
    hls_part_s: float = Field(0.5, ge=0.1, le=2.0, description="LL-HLS part length")
    hls_segment_s: float = Field(2.0, ge=1.0, le=10.0, description="HLS segment length (a keyframe each)")
    hls_window_segments: int = Field(8, ge=3, le=100, description="Segments kept in the live playlist")
    recordings_dir: str = Field("recordings", description="Where recordings (the replays) are written")
    recordings_url: str = Field(
        "",
        pattern=r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]*)?)?$",
        description="s3://bucket/prefix: recordings go to an S3-compatible store instead of recordings_dir",
    )
    recordings_s3_endpoint: str = Field(
        "", description="The S3-compatible endpoint (MinIO, R2, Ceph...); empty: AWS's for the region"
    )
    recordings_s3_region: str = Field("us-east-1", description="The bucket's region")
    recordings_s3_access_key: SecretStr = Field(
        SecretStr(""), description="Access key id; empty: boto3's own chain (env, profile, instance role)"
    )
    recordings_s3_secret_key: SecretStr = Field(SecretStr(""), description="Secret access key")
    recordings_s3_timeout_s: float = Field(
        5.0, gt=0, le=60, description="Connect and read timeout of each store request"
    )
    recordings_spool_mb: int = Field(
        2048,
        ge=0,
        le=1_000_000,
        description="With an object store: disk (under recordings_dir/spool) for the writes it refused, "
        "kept in order until it answers again; 0: none (a refused write is lost)",
    )
    replay_retention_days: float = Field(
        0, ge=0, le=36500, description="Delete recordings this many days after their broadcast; 0 keeps them"
    )

    @property
    def host_addresses(self) -> list[str]:
        return [a.strip() for a in self.ice_host_addresses.split(",") if a.strip()]

    @property
    def peer_networks(self) -> list[str]:
        return [n.strip() for n in self.ice_peer_networks.split(",") if n.strip()]

    @property
    def ice_server_urls(self) -> list[str]:
        return [u.strip() for u in self.ice_servers.split(",") if u.strip()]


class MirrorSettings(BaseSettings):
    """Platform mirroring: credentials per platform (a platform with none is off) and delivery knobs.

    LIVESHOP_<PLATFORM>_*; the *_BASE_URL overrides point connectors at the sandboxes."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", extra="ignore", frozen=True)

    # TikTok Shop (Partner Center app)
    tiktok_app_key: str = ""
    tiktok_app_secret: SecretStr = SecretStr("")
    tiktok_access_token: SecretStr = SecretStr("")
    tiktok_shop_cipher: str = ""
    tiktok_warehouse_id: str = ""
    tiktok_base_url: str = "https://open-api.tiktokglobalshop.com"
    # Shopify Admin GraphQL
    shopify_shop: str = Field("", description="shop name, e.g. my-brand (for my-brand.myshopify.com)")
    shopify_token: SecretStr = SecretStr("")
    shopify_webhook_secret: SecretStr = SecretStr("")
    shopify_location_id: str = ""
    shopify_api_version: str = "2026-04"
    shopify_base_url: str = ""
    # Meta catalog + commerce orders
    meta_access_token: SecretStr = SecretStr("")
    meta_app_secret: SecretStr = SecretStr("")
    meta_catalog_id: str = ""
    meta_cms_id: str = Field("", description="commerce account id, for polling commerce_orders")
    meta_api_version: str = "v25.0"
    meta_base_url: str = "https://graph.facebook.com"
    # Google Merchant API (YouTube Shopping)
    google_access_token: SecretStr = SecretStr("")
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
        False, description="let endpoints be loopback or private addresses (a shop system nearby)"
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


STRIPE_API = "https://api.stripe.com"
TOSS_API = "https://api.tosspayments.com"


class PaymentSettings(BaseSettings):
    """Taking money: which provider (none set: orders are confirmed at once) and the payment knobs.

    LIVESHOP_STRIPE_* / LIVESHOP_TOSS_*; the *_BASE_URL overrides point providers at the sandboxes."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", extra="ignore", frozen=True)

    stripe_secret_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_publishable_key: str = Field("", description="handed to the buyer's page for Stripe.js")
    stripe_base_url: str = Field(STRIPE_API, description="the API's root without /v1")
    toss_secret_key: SecretStr = SecretStr("")
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
        if self.stripe_secret_key.get_secret_value():
            return "stripe"
        if self.toss_secret_key.get_secret_value():
            return "toss"
        return None


class Settings(BaseSettings):
    """Every knob of a liveshop node. Unset means the embedded default (SQLite + in-process Redis)."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", extra="ignore", frozen=True)

    database_url: str = Field(
        EMBEDDED_DATABASE, description="SQLAlchemy async URL (postgresql+asyncpg://...)"
    )
    redis_url: str = Field(
        EMBEDDED_REDIS,
        description="redis://, redis+sentinel://h1:p1,h2:p2/<service>[/db], redis+cluster://h1:p1,h2:p2; memory://",
    )
    secret: SecretStr = Field(
        SecretStr(""), description="Signs tokens; required outside the embedded default"
    )
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str = Field("", description="Base URL clients use; derived from host/port when empty")
    hold_seconds: int = Field(120, ge=5, le=3600, description="How long a reservation holds units")
    sweep_interval_s: float = Field(1.0, gt=0, le=60)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    node_id: str = Field(default_factory=lambda: secrets.token_hex(4))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    db_pool_size: int = Field(20, ge=1, le=500)
    claim_batch_max: int = Field(64, ge=1, le=1024, description="Claims sent to Redis in one round trip")
    run_worker: bool = Field(True, description="Run the mirror delivery worker inside `serve`")
    cors_origins: str = "*"
    frame_ancestors: str = Field(
        "'none'",
        pattern=r"^[A-Za-z0-9 :/.*'_-]{1,500}$",
        description="CSP frame-ancestors of the pages: 'none', or the sites that may embed the watch page",
    )
    trusted_proxies: str = Field(
        "", description="CIDR list of our load balancers: only their X-Forwarded-For is believed"
    )
    trusted_clients: str = Field(
        "", description="CIDR list exempt from bot defences (ops' load generators); login limits still apply"
    )
    login_limit_account: str = Field(
        "10/15 minutes", description="Failed sign-ins per account before 429 too_many_attempts"
    )
    login_limit_address: str = Field(
        "50/15 minutes", description="Failed sign-ins per client address before 429 too_many_attempts"
    )
    claim_share_per_address: float = Field(
        0.10,
        gt=0,
        le=1,
        description="Share of an offer one network may claim (never below the per-buyer limit)",
    )
    guest_limit_address: str = Field("20/minute", description="Guest sessions one network may start")
    guest_free_per_address: int = Field(
        5, ge=0, le=1000, description="Guest sessions per 10 minutes a network starts before proof-of-work"
    )
    guest_pow_bits: int = Field(16, ge=0, le=28, description="Leading zero bits of the proof-of-work")
    metrics_token: SecretStr = Field(
        SecretStr(""), description="When set, /metrics answers only Authorization: Bearer <it>"
    )
    metrics_port: int = Field(0, ge=0, le=65535, description="When set, /metrics is served on this port only")
    metrics_host: str = Field("127.0.0.1", description="The address the separate metrics port listens on")
    retention_order_address_days: int = Field(
        365, ge=0, le=36500, description="Order addresses are pruned after this many days (0 keeps them)"
    )
    retention_chat_days: int = Field(
        90,
        ge=0,
        le=36500,
        description="Archived chat messages are deleted after this many days (0 keeps them)",
    )
    auth_staleness_s: float = Field(
        5.0, gt=0, le=300, description="A revoked host token stops working on every node within this"
    )
    event_loop: Literal["uvloop", "asyncio"] = Field("uvloop", description="uvloop (if installed) or asyncio")
    listen_backlog: int = Field(
        4096,
        ge=16,
        le=65535,
        description="Connections the kernel queues before the node accepts them (a room filling at 60 "
        "viewers/s overflowed aiohttp's 128 and the kernel dropped their SYNs); capped by net.core.somaxconn",
    )
    web_dir: str = Field("", description="The web/ folder, when it is not beside the package")

    chat: ChatSettings = Field(default_factory=ChatSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    mirror: MirrorSettings = Field(default_factory=MirrorSettings)
    payments: PaymentSettings = Field(default_factory=PaymentSettings)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        if not (value.startswith("postgresql+asyncpg://") or value.startswith("sqlite+aiosqlite://")):
            raise ValueError("must be postgresql+asyncpg://... or sqlite+aiosqlite:///path")
        return value

    @field_validator("trusted_proxies", "trusted_clients")
    @classmethod
    def _cidr_list(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # raises ValueError naming the bad entry
        return value

    @field_validator("login_limit_account", "login_limit_address", "guest_limit_address")
    @classmethod
    def _rate(cls, value: str) -> str:
        limits.parse(value)  # "10/15 minutes", "5 per second"
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        parse_redis_url(value)  # raises ValueError with the accepted forms
        return value

    @model_validator(mode="after")
    def _secret_outside_embedded(self) -> Settings:
        if not self.secret.get_secret_value():
            if self.embedded_redis and self.database_url.startswith("sqlite"):
                # Never a published string: each data directory makes its own and keeps it.
                object.__setattr__(self, "secret", SecretStr(embedded_secret(self.database_url)))
            else:
                raise ValueError("LIVESHOP_SECRET must be set (32+ characters) when using real services")
        check_secret(self.secret.get_secret_value())
        return self

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url.startswith("memory://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


# Section model -> its variables' prefix, so a bad value is reported by the name the operator set.
PREFIXES = {
    "Settings": "LIVESHOP_",
    "ChatSettings": "LIVESHOP_CHAT_",
    "MediaSettings": "LIVESHOP_",
    "MirrorSettings": "LIVESHOP_",
    "PaymentSettings": "LIVESHOP_",
}


def describe(exc: ValidationError) -> list[str]:
    """One line per invalid variable, by the name the operator set: `LIVESHOP_NAME: what is wrong`."""
    prefix = PREFIXES.get(exc.title, "LIVESHOP_")
    return [
        f"{prefix}{'_'.join(str(p) for p in e['loc']).upper() or 'CONFIG'}: {e['msg']}" for e in exc.errors()
    ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
