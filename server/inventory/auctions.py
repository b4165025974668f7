"""The Python face of the auction scripts: one atomic step per bid, the close, and the rebuild.

Redis holds the live high bid; PostgreSQL holds every acknowledged bid (commerce writes it before it
answers). When a script finds an auction's state missing, the book rebuilds it from the loader's
answer (PostgreSQL's bids) and tries again, so a lost Redis never forgets an acknowledged bid; the same
when the state is stale (written by another Redis process: a failover's promoted replica may miss
acknowledged bids; see `fence` in lua/common.lua).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.clock import SYSTEM_CLOCK, Clock, now_ms
from server.errors import NotFound
from server.inventory.engine import UNTRUSTED
from server.inventory.keys import auction_keys
from server.inventory.scripts import Scripts

log = logging.getLogger("liveshop.inventory")

# loader(auction_id) -> auction_load.lua's ARGV from PostgreSQL, or None (no such auction)
AuctionLoader = Callable[[str], Awaitable[list[Any] | None]]


# How many of the newest accepted bids a view carries: every accepted bid answers with the view and
# reaches the room with it, so a long auction must not make each answer longer than the last.
BIDS_SHOWN = 100
# A decided sudden death is ended by its deciding bid's own request, once the bid's row is written; the
# sweeper ends it only this long after (the request died), so it never refuses the deciding bid's row.
DECIDED_GRACE_MS = 2000


class AuctionMissing(NotFound):
    def __init__(self) -> None:
        super().__init__("auction")


@dataclass(frozen=True, slots=True)
class BidResult:
    """One bid's outcome. `code`: ok, replay, raised (the high bidder's max went up; `bid_id` is the
    standing high bid), bid_too_low, already_high_bidder, auction_ended or idempotency_key_reused;
    `min_bid` is set for the two refusals that name it.

    The recorded bid may be the high bidder's, placed by the server for their max (`leading` False:
    the requester's max did not beat it); `bidder`/`nickname` name whose bid it is."""

    code: str
    bid_id: str = ""
    amount: int = 0
    at_ms: int = 0
    ends_at_ms: int = 0
    extended: bool = False
    min_bid: int = 0
    outbid: str = ""  # the bidder whose high bid this one beat
    bidder: str = ""
    nickname: str = ""
    leading: bool = True
    your_max: int = 0  # the requester's live max (private to them), 0 for none
    decided: bool = False  # this bid decided a sudden death
    raised: bool = False  # no bid: the high bidder raised their max (also on its replay)
    bidder_max: int = 0  # the recorded bid's bidder's max (server-side only)


@dataclass(frozen=True, slots=True)
class BidEntry:
    id: str
    amount: int
    at_ms: int
    bidder_id: str
    nickname: str


@dataclass(frozen=True, slots=True)
class AuctionState:
    status: str
    ends_at_ms: int
    high: int
    high_bidder: str
    bid_count: int
    bids: list[BidEntry]  # the newest BIDS_SHOWN, newest first
    sudden_ms: int = 0  # the sudden-death window after ends_at, 0 for none
    decided: bool = False  # a sudden death's deciding bid came


@dataclass(frozen=True, slots=True)
class Closed:
    """auction_close's answer: `ended` False while the auction still runs."""

    ended: bool
    ends_at_ms: int = 0
    high: int = 0
    high_bidder: str = ""
    high_bid_id: str = ""


class AuctionBook:
    """Atomic bids over per-auction Redis keys (`auction:{<id>}:...`, one cluster slot each)."""

    def __init__(self, redis: Redis, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.redis = redis
        self.clock = clock
        self.scripts = Scripts(redis)
        self._loader: AuctionLoader | None = None
        self.stats = {"bids": 0, "rebuilds": 0}

    def set_loader(self, loader: AuctionLoader) -> None:
        self._loader = loader

    async def load(self, auction_id: str, args: list[Any]) -> bool:
        """Write the state unless present. True if this call created it."""
        result = await self.scripts.auction_load(keys=auction_keys(auction_id), args=args)
        return _s(result[0]) == "created"

    async def rebuild(self, auction_id: str) -> None:
        args = await self._loader(auction_id) if self._loader is not None else None
        if args is None:
            raise AuctionMissing()
        await self.load(auction_id, args)
        self.stats["rebuilds"] += 1
        log.warning("rebuilt auction state from the database auction=%s", auction_id)

    async def reset(self, auction_id: str) -> None:
        """Drop the state and write PostgreSQL's (after the end: a bid Redis accepted but PostgreSQL
        never recorded was never acknowledged, and must not show as the high bid)."""
        await self.redis.delete(auction_keys(auction_id)[0])
        await self.rebuild(auction_id)

    async def _run(self, script: Any, auction_id: str, keys: list[str], args: list[Any]) -> list[Any]:
        result = await script(keys=keys, args=args)
        if _s(result[0]) in UNTRUSTED:
            await self.rebuild(auction_id)
            result = await script(keys=keys, args=args)
            code = _s(result[0])
            if code == "missing":
                raise AuctionMissing()
            if code == "stale":  # the primary changed again while rebuilding
                raise RedisConnectionError("Redis primary changed during a rebuild; retry")
        return list(result)

    async def bid(
        self,
        auction_id: str,
        bidder: str,
        nickname: str,
        amount: int,
        bid_id: str,
        idem_key: str = "",
        *,
        max_amount: int = 0,
    ) -> BidResult:
        """Check and accept (or refuse) one bid, atomically, on the node's clock: a plain bid of
        `amount`, or (amount 0) a max bid the server bids with up to `max_amount`."""
        self.stats["bids"] += 1
        args = [now_ms(self.clock), bidder, nickname, amount, bid_id, idem_key]
        args += [body_hash(amount, max_amount), max_amount]
        r = await self._run(self.scripts.bid, auction_id, auction_keys(auction_id), args)
        code = _s(r[0])
        if code in ("ok", "replay", "raised"):
            return BidResult(
                code,
                _s(r[1]),
                int(r[2]),
                int(r[3]),
                int(r[4]),
                int(r[5]) == 1,
                outbid=_s(r[6]),
                bidder=_s(r[7]),
                nickname=_s(r[8]),
                leading=int(r[9]) >= 1,
                raised=int(r[9]) == 2,
                your_max=int(r[10]),
                decided=int(r[11]) == 1,
                bidder_max=int(r[12]),
            )
        if code in ("bid_too_low", "already_high_bidder"):
            return BidResult(code, min_bid=int(r[1]))
        return BidResult(code)

    async def close(self, auction_id: str, *, force: bool = False) -> Closed:
        """End the auction in Redis if its time is up (or now, with force): bids are refused after."""
        keys = auction_keys(auction_id)[:1]
        args = [now_ms(self.clock), "1" if force else "0", DECIDED_GRACE_MS]
        r = await self._run(self.scripts.auction_close, auction_id, keys, args)
        if _s(r[0]) == "open":
            return Closed(False, int(r[1]))
        return Closed(True, 0, int(r[1]), _s(r[2]), _s(r[3]))

    async def state(self, auction_id: str) -> AuctionState:
        """The live state with the newest accepted bids first (rebuilt first if Redis lost it)."""
        keys = auction_keys(auction_id)[:2]
        r = await self._run(self.scripts.auction_view, auction_id, keys, [BIDS_SHOWN])
        bids = [_entry(b) for b in r[8:]]
        return AuctionState(
            _s(r[1]), int(r[2]), int(r[3]), _s(r[4]), int(r[5]), bids, int(r[6]), int(r[7]) == 1
        )


def body_hash(amount: int, max_amount: int) -> str:
    """A bid request's fingerprint for its Idempotency-Key (a plain bid's is its amount, as before
    max bids; auction_load rebuilds both kinds from a row)."""
    return f"max{max_amount}" if max_amount else str(amount)


def _entry(raw: Any) -> BidEntry:
    bid_id, amount, at, bidder, nickname = _s(raw).split("|", 4)
    return BidEntry(bid_id, int(amount), int(at), bidder, nickname)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
