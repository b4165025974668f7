"""Nicknames people choose: cleaned like chat text, and never one that reads as a shop's name."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.models import Shop
from server.errors import Code, DomainError
from server.text import clean, skeleton

REFRESH_S = 30.0


class ShopNames:
    """The skeletons of every shop's name, re-read at most every REFRESH_S."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = sessionmaker
        self._clock = clock
        self._skeletons: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    async def skeletons(self) -> frozenset[str]:
        if self._clock() - self._loaded_at > REFRESH_S:
            async with self._db() as session:
                names = (await session.execute(select(Shop.name))).scalars().all()
            self._skeletons = frozenset(s for s in map(skeleton, names) if s)
            self._loaded_at = self._clock()
        return self._skeletons

    def forget(self) -> None:
        self._loaded_at = float("-inf")


async def nickname(raw: str, shops: ShopNames) -> str:
    """The nickname as the room will show it; 422 when nothing visible is left or it poses as a shop."""
    name = clean(raw)
    if not name:
        raise DomainError(Code.VALIDATION_ERROR, "nickname: nothing visible is left", field="nickname")
    mine = skeleton(name)
    for shop in await shops.skeletons():
        if mine == shop or (len(shop) >= 4 and shop in mine):
            raise DomainError(Code.VALIDATION_ERROR, "nickname: too close to a shop's name", field="nickname")
    return name
