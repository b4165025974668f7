"""The room's share of personal data: a forgotten buyer's chat is scrubbed, and old archives expire
(LIVESHOP_RETENTION_CHAT_DAYS)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.context import CLOCK, DB
from server.clock import utc
from server.events import Event
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


def on_person_erased(app: web.Application) -> Callable[[Event], Awaitable[None]]:
    async def handle(event: Event) -> None:
        if event.is_local:
            ids = [str(i) for i in event.data.get("user_ids", [])][:10_000]
            if ids:
                await scrub_people(app[DB], ids)

    return handle


def retention_context(
    days: int, interval_s: float = 3600.0
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                try:
                    await prune_chat(app[DB], utc(app[CLOCK]) - timedelta(days=days))
                except Exception as exc:
                    log.warning("chat retention pass failed error=%r", exc)
                await asyncio.sleep(interval_s)

        task = asyncio.create_task(loop(), name="chat-retention") if days > 0 else None
        yield
        if task is not None:
            task.cancel()

    return context
