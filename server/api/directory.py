"""Host accounts as this node last read them: revocation and shop membership with bounded staleness.

A host token is honoured only while its account is still a host, still a member of a shop, and has not
logged out since the token was issued. The node re-reads an account at most once per `staleness_s`,
so a claim never costs a database read and a revoked token stops working within that bound everywhere
(at once on the node that revoked it). Viewer tokens are checked by signature alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.models import Membership, User
from server.api.tokens import Claims, Principal
from server.loading import BriefCache


@dataclass(frozen=True, slots=True)
class HostEntry:
    role: str
    nickname: str
    shop_id: str | None
    shop_role: str | None
    valid_after: float  # tokens issued before this instant are revoked


_MISSING = HostEntry("none", "", None, None, float("inf"))


class HostDirectory(BriefCache[HostEntry]):
    """A TTL cache of host accounts, one database read per account per staleness window (however many
    requests arrive at once)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        staleness_s: float = 5.0,
        maxsize: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(staleness_s, timer=clock, maxsize=maxsize)
        self._db = sessionmaker
        self.reads = 0

    async def load(self, user_id: str) -> HostEntry:
        self.reads += 1
        async with self._db() as session:
            row = (
                await session.execute(
                    select(
                        User.role, User.nickname, User.tokens_valid_after, Membership.shop_id, Membership.role
                    )
                    .outerjoin(Membership, Membership.user_id == User.id)
                    .where(User.id == user_id)
                    .limit(1)
                )
            ).first()
        if row is None:
            return _MISSING
        role, nickname, valid_after, shop_id, shop_role = row
        return HostEntry(role, nickname, shop_id, shop_role, float(valid_after or 0.0))

    async def entry(self, user_id: str) -> HostEntry:
        return await self.get(user_id)

    async def resolve(self, claims: Claims) -> Principal | None:
        """The principal a verified token stands for now, or None when it was revoked."""
        principal = claims.principal
        if principal.role != "host":
            return principal
        entry = await self.entry(principal.id)
        if entry.role != "host" or entry.shop_id is None or claims.issued < entry.valid_after:
            return None
        return Principal(principal.id, "host", entry.nickname, entry.shop_id, entry.shop_role)
