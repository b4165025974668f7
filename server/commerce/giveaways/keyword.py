"""Entering a giveaway from chat, commerce's half: is this message an open giveaway's keyword?

The live room asks through the `giveaway_keyword` seam for every viewer's chat message, so the answer
must be cheap: the open giveaways with a keyword are cached per broadcast for at most KEYWORD_TTL_S
(one PostgreSQL read per broadcast per TTL, shared by concurrent callers); a giveaway event on this
node drops the entry at once, on other nodes it ages out. The whole message must be the keyword
("WIN", "win!"): a keyword inside a longer sentence is chat.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.auth import Principal
from server.api.context import CLOCK, DB, EVENTS
from server.clock import Clock
from server.commerce.giveaways.models import Giveaway
from server.commerce.giveaways.service import COUNTS, enter
from server.events import GIVEAWAY, Event
from server.loading import BriefCache

log = logging.getLogger("liveshop.commerce")

KEYWORD_TTL_S = 1.0
KEYWORD_PATTERN = r"^[\w#@-]{1,32}$"  # one word: letters, digits, _ # @ -
_TRAILING = re.compile(r"[!.?¡¿~]+$")


def clean_keyword(raw: str) -> str:
    return raw.strip().casefold()


def matches(text: str, keyword: str) -> bool:
    """The whole message is the keyword, case-blind, perhaps with a "!" or "." after it."""
    return _TRAILING.sub("", text.strip().casefold()) == keyword


class OpenKeywords(BriefCache[list[tuple[str, str]]]):
    """broadcast id -> its open giveaways' (giveaway id, keyword), briefly cached."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        super().__init__(KEYWORD_TTL_S, timer=clock.monotonic)
        self._db = sessionmaker

    async def load(self, broadcast_id: str) -> list[tuple[str, str]]:
        async with self._db() as session:
            rows = await session.execute(
                select(Giveaway.id, Giveaway.keyword).where(
                    Giveaway.broadcast_id == broadcast_id,
                    Giveaway.status == "open",
                    Giveaway.keyword.is_not(None),
                )
            )
            return [(str(i), str(k)) for i, k in rows.all()]


OPEN_KEYWORDS = web.AppKey("giveaway_keywords", OpenKeywords)


async def enter_by_keyword(
    app: web.Application, broadcast_id: str, user: Principal, text: str
) -> dict[str, Any] | None:
    """The `giveaway_keyword` seam: None when the message is no open giveaway's keyword (or the lookup
    failed: it stays plain chat), else the entry (as POST .../entries answers it); a refused entry
    raises the DomainError the API answers."""
    try:
        keywords = await app[OPEN_KEYWORDS].get(broadcast_id)
    except Exception as exc:  # chat must not fail, nor answer with errors, because this lookup did
        log.warning("giveaway keywords unavailable broadcast=%s error=%r", broadcast_id, exc)
        return None
    for giveaway_id, keyword in keywords:
        if matches(text, keyword):
            entered = await enter(app, user, giveaway_id, "chat")
            if entered.new:
                app[COUNTS].entered(entered.giveaway)
            return entry_view(entered.giveaway.id, user.id, entered.seq, entered.new)
    return None


def entry_view(giveaway_id: str, user_id: str, seq: int, new: bool) -> dict[str, Any]:
    return {"giveaway_id": giveaway_id, "user_id": user_id, "entry": seq, "new": new}


def setup(app: web.Application) -> None:
    cache = app[OPEN_KEYWORDS] = OpenKeywords(app[DB], app[CLOCK])

    def drop(event: Event) -> None:
        broadcast_id = event.data.get("broadcast_id")
        if isinstance(broadcast_id, str) and event.data.get("type") != "entries":
            cache.forget(broadcast_id)

    app[EVENTS].subscribe(GIVEAWAY, drop)
