"""Comment-to-buy, commerce's half: find the pinned product's active offer and claim it as the API would.

With several pins (up to three), a keyword claims the offer of the most recent pin that has an active
offer (a product with two running offers: the one started last); a pin without an offer is skipped.

The live room recognises a buy keyword in chat and asks through the `pinned_claim` seam; this module
answers. Which offer is "the pinned one" is cached per broadcast for at most PINNED_TTL_S (a chat flood
of keywords costs one PostgreSQL read per broadcast per TTL, shared by concurrent callers); a pin, an
offer start or an offer end on this node drops the entry at once, on other nodes it ages out.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.api.context import CLOCK, DB, EVENTS
from server.api.tokens import Principal
from server.broadcasts import Broadcast
from server.clock import Clock, utc
from server.commerce.models import BroadcastPin
from server.commerce.offers import OFFERS
from server.commerce.reservations import QUANTITY_MAX, QUANTITY_MIN, claim_error, claim_units, claim_view
from server.errors import DomainError
from server.events import OFFER_ENDED, OFFER_STARTED, PINNED, Event
from server.inventory.models import Offer
from server.loading import BriefCache

PINNED_TTL_S = 1.0


class PinnedOffers(BriefCache[str | None]):
    """broadcast id -> the id of the pinned product's active offer (or None), briefly cached."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        super().__init__(PINNED_TTL_S, timer=clock.monotonic)
        self._db = sessionmaker
        self._clock = clock

    async def load(self, broadcast_id: str) -> str | None:
        async with self._db() as session:
            return (
                await session.execute(
                    select(Offer.id)
                    .join(Broadcast, Broadcast.id == Offer.broadcast_id)
                    .join(
                        BroadcastPin,
                        (BroadcastPin.broadcast_id == Broadcast.id)
                        & (BroadcastPin.product_id == Offer.product_id),
                    )
                    .where(
                        Broadcast.id == broadcast_id,
                        Broadcast.status != "ended",
                        Offer.status == "active",
                        Offer.ends_at > utc(self._clock),
                    )
                    .order_by(BroadcastPin.seq.desc(), Offer.starts_at.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()


PINNED_OFFERS = web.AppKey("pinned_offers", PinnedOffers)


async def claim_pinned(
    app: web.Application,
    broadcast_id: str,
    buyer: Principal,
    quantity: int,
    key: str,
    network: str | None,
    source: str | None = None,
) -> tuple[dict[str, Any], bool] | None:
    """The `pinned_claim` seam: None when nothing pinned is on offer, else the hold (and whether it is
    a replay); a refused claim raises the same DomainError the API answers with."""
    offer_id = await app[PINNED_OFFERS].get(broadcast_id)
    if offer_id is None:
        return None
    if not QUANTITY_MIN <= quantity <= QUANTITY_MAX:
        raise DomainError(
            "validation_error", f"quantity: from {QUANTITY_MIN} to {QUANTITY_MAX}", field="quantity"
        )
    offer = (await app[OFFERS].get(offer_id)).offer
    claim = await claim_units(
        app, offer, buyer.id, quantity, key, network=network, verified=buyer.verified, source=source
    )
    if claim is None:  # the sender's network has claimed its share, as over HTTP
        raise DomainError("limit_exceeded", "Your network has claimed its share of this offer", remaining=0)
    if claim.code in ("ok", "replay"):
        return claim_view(app, offer, claim), claim.code == "replay"
    raise claim_error(claim)


def setup(app: web.Application) -> None:
    cache = app[PINNED_OFFERS] = PinnedOffers(app[DB], app[CLOCK])

    def drop(event: Event) -> None:
        broadcast_id = event.data.get("broadcast_id")
        if isinstance(broadcast_id, str):
            cache.forget(broadcast_id)

    for topic in (PINNED, OFFER_STARTED, OFFER_ENDED):
        app[EVENTS].subscribe(topic, drop)
