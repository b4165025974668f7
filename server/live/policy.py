"""Per-broadcast chat policy (status, slow mode, blocked words, bans, timeouts), cached on every node.

PostgreSQL holds it; each node keeps a copy per broadcast it serves, loaded on first use and reloaded
when any node changes it (a control message on the room channel), after a resubscription (changes may
have been missed) and every REFRESH_S as a safety net. The claim path's ban check (`buyer_guard`) is
therefore a dict lookup, not a Redis or database round trip.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime

from cachetools import LRUCache, TTLCache
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.models import Shop
from server.api.tokens import Principal
from server.broadcasts import Broadcast
from server.clock import SYSTEM_CLOCK, Clock, utc
from server.live.models import ChatSettings, Restriction
from server.live.text import blocked_matcher, language_buy_keywords
from server.loading import SingleFlight

REFRESH_S = 30.0


@dataclass
class Policy:
    broadcast_id: str
    exists: bool = True
    status: str = "scheduled"
    host_id: str = ""
    shop_id: str = ""
    slow_mode_s: int = 0
    blocked_words: list[str] = field(default_factory=list)
    matcher: re.Pattern[str] | None = None
    buy_keywords: list[str] = field(default_factory=list)  # the host's own, beside the built-in ones
    language: str = "en"  # the shop's: which language's extra buy keywords the chat also takes
    announce_claims: bool = False
    bans: set[str] = field(default_factory=set)
    timeouts: dict[str, float] = field(default_factory=dict)  # user id -> until (epoch seconds)
    loaded_at: float = 0.0

    def timed_out_for(self, user_id: str, now: float) -> float:
        """Seconds left on this user's timeout at `now` (epoch seconds; 0 when none)."""
        until = self.timeouts.get(user_id)
        if until is None:
            return 0.0
        left = until - now
        if left <= 0:
            self.timeouts.pop(user_id, None)
            return 0.0
        return left

    def is_staff(self, user: Principal) -> bool:
        """A host of the shop this broadcast belongs to: the one who may moderate and wears the badge."""
        return user.is_host and bool(self.shop_id) and user.shop_id == self.shop_id

    def all_buy_keywords(self) -> tuple[str, ...]:
        """The host's keywords and the shop language's (the contract's four are always in)."""
        return (*self.buy_keywords, *language_buy_keywords(self.language))

    def settings_view(self) -> dict[str, object]:
        return settings_view(self.slow_mode_s, self.blocked_words, self.buy_keywords, self.announce_claims)


MAX_POLICIES = 10_000  # broadcasts a node keeps policies for (least recently used go first)
MAX_MISSING = 4_096  # unknown broadcast ids remembered briefly, apart, so junk ids evict nothing real
MISSING_TTL_S = 10.0


class Policies:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock = SYSTEM_CLOCK,
        *,
        max_items: int = MAX_POLICIES,
    ) -> None:
        self._db = sessionmaker
        self._clock = clock
        self._items: LRUCache[str, Policy] = LRUCache(maxsize=max_items)
        self._missing: TTLCache[str, Policy] = TTLCache(
            maxsize=MAX_MISSING, ttl=MISSING_TTL_S, timer=clock.monotonic
        )
        self._flight: SingleFlight[str, Policy] = SingleFlight()

    def __len__(self) -> int:
        return len(self._items) + len(self._missing)

    async def get(self, broadcast_id: str) -> Policy:
        policy = self.peek(broadcast_id)
        if policy is not None and self._clock.monotonic() - policy.loaded_at < REFRESH_S:
            return policy
        return await self.reload(broadcast_id)

    def peek(self, broadcast_id: str) -> Policy | None:
        return self._items.get(broadcast_id) or self._missing.get(broadcast_id)

    async def reload(self, broadcast_id: str) -> Policy:
        """Concurrent loads of one broadcast share one database read."""
        return await self._flight.run(broadcast_id, lambda: self._load_and_keep(broadcast_id))

    async def _load_and_keep(self, broadcast_id: str) -> Policy:
        policy = await self._load(broadcast_id)
        if policy.exists:
            self._items[broadcast_id] = policy
        else:
            self._missing[broadcast_id] = policy
        return policy

    def refresh_soon(self, broadcast_id: str) -> None:
        """Reload in the background; callers keep using the copy they have meanwhile."""
        if broadcast_id not in self._flight:
            task = asyncio.ensure_future(self.reload(broadcast_id))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def forget_all(self) -> None:
        self._items.clear()
        self._missing.clear()

    async def _load(self, broadcast_id: str) -> Policy:
        now = utc(self._clock)
        loaded_at = self._clock.monotonic()
        async with self._db() as session:
            b = await session.get(Broadcast, broadcast_id)
            if b is None:
                return Policy(broadcast_id, exists=False, loaded_at=loaded_at)
            settings = await session.get(ChatSettings, broadcast_id)
            shop = await session.get(Shop, b.shop_id) if b.shop_id else None
            rows = (
                (await session.execute(select(Restriction).where(Restriction.broadcast_id == broadcast_id)))
                .scalars()
                .all()
            )
        words = list(settings.blocked_words) if settings else []
        policy = Policy(
            broadcast_id,
            status=b.status,
            host_id=b.host_id,
            shop_id=b.shop_id,
            slow_mode_s=settings.slow_mode_s if settings else 0,
            blocked_words=words,
            matcher=blocked_matcher(words),
            buy_keywords=list(settings.buy_keywords or []) if settings else [],
            language=(shop.language if shop is not None else None) or "en",
            announce_claims=bool(settings.announce_claims) if settings else False,
            loaded_at=loaded_at,
        )
        for r in rows:
            if r.kind == "ban":
                policy.bans.add(r.user_id)
            elif r.kind == "timeout" and r.until is not None and r.until > now:
                policy.timeouts[r.user_id] = r.until.timestamp()
        return policy


def settings_view(
    slow_mode_s: int, blocked_words: list[str], buy_keywords: list[str], announce_claims: bool
) -> dict[str, object]:
    """The chat settings as the host reads them (REST and the socket.io `settings` ack)."""
    return {
        "slow_mode_s": slow_mode_s,
        "blocked_words": list(blocked_words),
        "buy_keywords": list(buy_keywords),
        "announce_claims": announce_claims,
    }


@dataclass
class SettingsChange:
    """What the host changes; None leaves a setting as it is."""

    slow_mode_s: int | None = None
    blocked_words: list[str] | None = None
    buy_keywords: list[str] | None = None
    announce_claims: bool | None = None


async def save_settings(session: AsyncSession, broadcast_id: str, change: SettingsChange) -> ChatSettings:
    row = await session.get(ChatSettings, broadcast_id, with_for_update=True)
    if row is None:
        row = ChatSettings(
            broadcast_id=broadcast_id, slow_mode_s=0, blocked_words=[], buy_keywords=[], announce_claims=False
        )
        session.add(row)
    if change.slow_mode_s is not None:
        row.slow_mode_s = change.slow_mode_s
    if change.blocked_words is not None:
        row.blocked_words = change.blocked_words
    if change.buy_keywords is not None:
        row.buy_keywords = change.buy_keywords
    if change.announce_claims is not None:
        row.announce_claims = change.announce_claims
    return row


async def restrict(
    session: AsyncSession, broadcast_id: str, user_id: str, kind: str, until: datetime | None
) -> None:
    await session.execute(
        delete(Restriction).where(
            Restriction.broadcast_id == broadcast_id, Restriction.user_id == user_id, Restriction.kind == kind
        )
    )
    session.add(Restriction(broadcast_id=broadcast_id, user_id=user_id, kind=kind, until=until))


async def lift(session: AsyncSession, broadcast_id: str, user_id: str, kind: str) -> None:
    await session.execute(
        delete(Restriction).where(
            Restriction.broadcast_id == broadcast_id, Restriction.user_id == user_id, Restriction.kind == kind
        )
    )
