"""The live room's knobs, read from LIVESHOP_CHAT_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVESHOP_CHAT_", extra="ignore", frozen=True)

    tick_ms: int = Field(200, ge=10, le=2000, description="Batch window for chat delivery under load")
    rate_per_s: float = Field(1.0, gt=0, le=1000, description="Sustained messages per second per user")
    burst: int = Field(5, ge=1, le=1000, description="Messages a user may send at once")
    history_cap: int = Field(200, ge=50, le=10_000, description="Recent messages kept in Redis")
    stock_interval_ms: int = Field(250, ge=50, le=5000, description="At most one stock update per offer")
    viewers_interval_s: float = Field(1.0, ge=0.2, le=60)
    ws_compress: bool = Field(False, description="Offer permessage-deflate on socket.io websockets")
