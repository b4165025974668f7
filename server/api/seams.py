"""Typed seams: one feature's answer for another, declared here and wired in app.py only.

Features never import each other, so a feature that needs another's answer (commerce asks live whether a
buyer is banned) names a seam here; app.py fills every seam, and a node refuses to start with one missing
rather than silently skipping the check a seam guards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple, Protocol

from aiohttp import web

from server.api.tokens import Principal
from server.inventory.audit import AuditCheck  # an extra audit check a feature adds


class BuyerGuard(Protocol):
    """On the claim path: raises (banned, timed out) when this buyer, or the network it claims from
    (None for trusted load generators), may not buy in this broadcast."""

    async def __call__(self, broadcast_id: str, user_id: str, network: str | None = None, /) -> None: ...


class ViewerCount(Protocol):
    """How many viewers a broadcast has, on every node."""

    async def __call__(self, broadcast_id: str, /) -> int: ...


class AudienceFigures(Protocol):
    """A broadcast's audience for the sale report, on every node: peak/average/unique viewers, watch time,
    chat messages and chatters, viewers per attribution source, and the time series (live/audience.py)."""

    async def __call__(self, broadcast_id: str, /) -> dict[str, Any]: ...


class BroadcastSnapshot(Protocol):
    """A broadcast as the API shows it, with its pinned product, offers and viewer count."""

    async def __call__(self, broadcast_id: str, /) -> dict[str, Any]: ...


class PinnedClaim(Protocol):
    """Comment-to-buy: claim `quantity` units of the pinned product's active offer for a user, exactly as
    POST /api/v1/offers/{id}/reservations would (same checks, same inventory call, same error codes).

    `network` is the sender's network key (None for trusted clients): its share applies as over HTTP;
    `source` is where the sender came from (the join's attribution), for the sale report.
    Returns None when the pinned product has no active offer (the message is plain chat), else the hold
    as the HTTP 201 body shows it and whether it is a replay of an earlier claim with the same key;
    raises DomainError (sold_out, limit_exceeded, offer_ended, banned, ...) when the claim is refused.
    """

    async def __call__(
        self,
        broadcast_id: str,
        buyer: Principal,
        quantity: int,
        idempotency_key: str,
        network: str | None,
        source: str | None,
        /,
    ) -> tuple[dict[str, Any], bool] | None: ...


class GiveawayKeyword(Protocol):
    """Entering from chat: None when the message is not exactly an open giveaway's keyword in this
    broadcast (plain chat), else the entry as POST /api/v1/giveaways/{id}/entries answers it; raises
    DomainError (giveaway_closed, buyers_only, banned, ...) when the entry is refused."""

    async def __call__(self, broadcast_id: str, user: Principal, text: str, /) -> dict[str, Any] | None: ...


class CheckoutPayments(Protocol):
    """What checkout asks of the payments feature: whether the shop takes money online, and each
    order's payment."""

    @property
    def enabled(self) -> bool:
        """True when a provider is set: checkout then makes `pending_payment` orders."""
        ...

    def deadline_ms(self, created_ms: int) -> int:
        """When an order created at `created_ms` stops holding its units unless paid."""
        ...

    async def open(self, order_id: str, order: Any = None) -> dict[str, Any]:
        """The order's payment for the buyer ({provider, id, client_secret, ...}), created at the
        provider once (idempotent); raises DomainError(payment_unavailable) if it cannot be now.
        `order`: the order row checkout just committed, which saves reading it again."""
        ...


class MediaMoment(NamedTuple):
    """A moment on a broadcast's video: seconds into its recording, and the wall-clock stamp (epoch ms)
    that its HLS playlists (PROGRAM-DATE-TIME) and its RTCP sender reports give that frame."""

    at_s: float
    media_ms: int
    # the frame's timestamp on the fanout's 90 kHz clock: what every WHEP viewer's RTP timestamps
    # carry (plus that sender's origin), so a browser knows when it plays that frame
    pts: int = 0

    def stamp(self) -> dict[str, float | int]:
        """The fields a room event carries: media_at_s, media_ms, media_pts."""
        return {"media_at_s": self.at_s, "media_ms": self.media_ms, "media_pts": self.pts}


class MediaClock(Protocol):
    """Where a broadcast's video is now, or None while nothing is published: chat messages and room
    events carry it, so replays and viewers place them on the video rather than on the wall clock."""

    async def __call__(self, broadcast_id: str, /) -> MediaMoment | None: ...


BUYER_GUARD = web.AppKey[BuyerGuard]("buyer_guard")
VIEWER_COUNT = web.AppKey[ViewerCount]("viewer_count")
AUDIENCE = web.AppKey[AudienceFigures]("audience")
BROADCAST_SNAPSHOT = web.AppKey[BroadcastSnapshot]("broadcast_snapshot")
PINNED_CLAIM = web.AppKey[PinnedClaim]("pinned_claim")
PAYMENTS = web.AppKey[CheckoutPayments]("payments")
GIVEAWAY_KEYWORD = web.AppKey[GiveawayKeyword]("giveaway_keyword")
AUDIT_CHECKS = web.AppKey[list[AuditCheck]]("audit_checks")
MEDIA_CLOCK = web.AppKey[MediaClock]("media_clock")

SEAMS: dict[str, web.AppKey[Any]] = {
    "buyer_guard": BUYER_GUARD,
    "viewer_count": VIEWER_COUNT,
    "audience": AUDIENCE,
    "broadcast_snapshot": BROADCAST_SNAPSHOT,
    "pinned_claim": PINNED_CLAIM,
    "payments": PAYMENTS,
    "giveaway_keyword": GIVEAWAY_KEYWORD,
    "audit_checks": AUDIT_CHECKS,
    "media_clock": MEDIA_CLOCK,
}


class MissingSeam(RuntimeError):
    """The app was built without a seam a feature relies on."""


def missing(app: web.Application) -> list[str]:
    return [name for name, key in SEAMS.items() if key not in app]


def check(app: web.Application) -> None:
    absent = missing(app)
    if absent:
        raise MissingSeam(f"the app is missing seams {', '.join(absent)}: app.py must wire every seam")


async def checked_at_start(app: web.Application) -> AsyncIterator[None]:
    """First of the app's start-up steps: nothing starts (no migration, no listener) with a seam missing."""
    check(app)
    yield
