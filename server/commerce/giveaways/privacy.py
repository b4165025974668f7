"""A forgotten buyer leaves giveaways too: nicknames go, the opaque user ids stay.

The ids are what the published list's hash and the draw are computed over, so they stay and every
past draw still re-checks; the names shown beside them (the entrant list, the winner, the prize
order's buyer) become "erased".
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.commerce.giveaways.models import Giveaway, GiveawayEntry
from server.inventory.models import Order

ERASED = "erased"


async def scrub_people(sessionmaker: async_sessionmaker[AsyncSession], user_ids: list[str]) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(GiveawayEntry).where(GiveawayEntry.user_id.in_(user_ids)).values(nickname=ERASED)
        )
        await session.execute(
            update(Giveaway).where(Giveaway.winner_id.in_(user_ids)).values(winner_nickname=ERASED)
        )
        prizes = select(Giveaway.order_id).where(
            Giveaway.winner_id.in_(user_ids), Giveaway.order_id.is_not(None)
        )
        for order in (await session.execute(select(Order).where(Order.id.in_(prizes)))).scalars():
            order.buyer = {"name": ERASED, "giveaway_id": (order.buyer or {}).get("giveaway_id")}
