"""One settings object, read from LIVESHOP_* environment variables and validated at start."""

from __future__ import annotations

import ipaddress
import secrets
from functools import lru_cache
from typing import Literal

import limits
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.signing_secret import check_secret, embedded_secret

EMBEDDED_REDIS = "memory://"
EMBEDDED_DATABASE = "sqlite+aiosqlite:///liveshop.db"


class Settings(BaseSettings):
    """Every knob of a liveshop node. Unset means the embedded default (SQLite + in-process Redis)."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", extra="ignore", frozen=True)

    database_url: str = Field(
        EMBEDDED_DATABASE, description="SQLAlchemy async URL (postgresql+asyncpg://...)"
    )
    redis_url: str = Field(EMBEDDED_REDIS, description="redis://host:port/db, or memory:// for in-process")
    secret: str = Field("", description="Signs tokens; required outside the embedded default")
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
    metrics_token: str = Field("", description="When set, /metrics answers only Authorization: Bearer <it>")
    metrics_port: int = Field(0, ge=0, le=65535, description="When set, /metrics is served on this port only")
    metrics_host: str = Field("127.0.0.1", description="The address the separate metrics port listens on")
    auth_staleness_s: float = Field(
        5.0, gt=0, le=300, description="A revoked host token stops working on every node within this"
    )
    event_loop: Literal["uvloop", "asyncio"] = Field("uvloop", description="uvloop (if installed) or asyncio")

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
        if not value.startswith(("redis://", "rediss://", "unix://", "memory://")):
            raise ValueError("must be redis://host:port/db, rediss://..., unix://... or memory://")
        return value

    @model_validator(mode="after")
    def _secret_outside_embedded(self) -> Settings:
        if not self.secret:
            if self.embedded_redis and self.database_url.startswith("sqlite"):
                # Never a published string: each data directory makes its own and keeps it.
                object.__setattr__(self, "secret", embedded_secret(self.database_url))
            else:
                raise ValueError("LIVESHOP_SECRET must be set (32+ characters) when using real services")
        check_secret(self.secret)
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
