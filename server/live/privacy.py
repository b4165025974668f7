"""The room's share of personal data: a forgotten buyer's chat is scrubbed, and old archives expire
(LIVESHOP_RETENTION_CHAT_DAYS)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.context import CLOCK, DB
from server.clock import utc
from server.live.models import ChatMessage

log = logging.getLogger("liveshop.live")


async def scrub_people(sessionmaker: async_sessionmaker[AsyncSession], user_ids: list[str]) -> int:
    """Their archived messages lose text and name (the row stays, so moderation logs still add up)."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(ChatMessage).where(ChatMessage.user_id.in_(user_ids)).values(text="", nickname="erased")
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def prune_chat(sessionmaker: async_sessionmaker[AsyncSession], older_than: datetime) -> int:
    async with sessionmaker() as session, session.begin():
        cutoff_ms = int(older_than.timestamp() * 1000)
        result = await session.execute(delete(ChatMessage).where(ChatMessage.ts < cutoff_ms))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def prune_chat_now(app: web.Application, days: int) -> int:
    """One retention pass: chat older than `days` is deleted."""
    return await prune_chat(app[DB], utc(app[CLOCK]) - timedelta(days=days))
