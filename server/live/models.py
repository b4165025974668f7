"""The live room's own tables: the chat archive, per-broadcast chat settings, restrictions, moderation log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow


class ChatMessage(Base):
    """Every delivered chat message, for moderation and replay (Redis keeps only the recent ones)."""

    __tablename__ = "live_chat_messages"
    __table_args__ = (Index("ix_live_chat_messages_broadcast_ts", "broadcast_id", "ts"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    broadcast_id: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(40))
    nickname: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    ts: Mapped[int] = mapped_column(BigInteger)  # ms since the epoch, as sent to clients
    # seconds into the broadcast's recording when the room got it (None: no video was being published)
    at_s: Mapped[float | None] = mapped_column(Float)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChatSettings(Base):
    """What the host set for a broadcast's chat."""

    __tablename__ = "live_chat_settings"

    broadcast_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slow_mode_s: Mapped[int] = mapped_column(Integer, default=0)
    blocked_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    buy_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)  # the host's, beside the built-in
    announce_claims: Mapped[bool] = mapped_column(Boolean, default=False)  # the room sees "Ada claimed 2"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Restriction(Base):
    """A ban (until is None) or a timeout of one user in one broadcast."""

    __tablename__ = "live_restrictions"

    broadcast_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # ban | timeout
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModerationAction(Base):
    """Every moderation action, as the audit trail of who did what to whom."""

    __tablename__ = "live_moderation_actions"
    __table_args__ = (Index("ix_live_moderation_actions_broadcast", "broadcast_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(16))  # delete | timeout | ban | unban | settings
    target_user_id: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[str | None] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
