"""Proxy bidding (server/inventory/lua/bid.lua) against a pure-Python model of eBay's rule, on a real
Redis: random sequences of plain bids, max bids, raises and Redis losses (the state rebuilt from the
rows PostgreSQL would hold); after every step the script's answer and state equal the model's."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from server.inventory.auctions import AuctionBook, body_hash
from server.inventory.keys import auction_keys
from tests.services import RedisServer

STARTING, INCREMENT = 100, 10
BIDDERS = ["ada", "bob", "cy", "dee"]


@dataclass
class Row:
    """What the bid's row in auction_bids would hold."""

    id: str
    amount: int
    at_ms: int
    bidder: str
    key: str
    fingerprint: str
    bidder_max: int


@dataclass
class Model:
    """eBay's rule over every bidder's max: the leader is the highest max (the earlier on a tie); the
    price is the second-highest max + increment, capped at the leader's max, and never below the
    leader's own plain amount or the minimum bid."""

    maxes: dict[str, tuple[int, int]] = field(default_factory=dict)  # bidder -> (max, when set)
    high: int = 0
    leader: str = ""
    prices: list[int] = field(default_factory=list)
    seq: itertools.count[int] = field(default_factory=itertools.count)

    def min_bid(self) -> int:
        return self.high + INCREMENT if self.high else STARTING

    def step(self, who: str, amount: int, max_amount: int) -> tuple[Any, ...]:
        """(code, price, bidder of the recorded bid, leading, your_max) or (refusal, min_bid)."""
        min_bid, offered = self.min_bid(), max_amount or amount
        if self.high and self.leader == who:
            if not max_amount:
                return ("already_high_bidder", min_bid)
            if max_amount < min_bid:
                return ("bid_too_low", min_bid)
            held, when = self.maxes[who]
            self.maxes[who] = (max(held, max_amount), when)
            return ("raised", self.high, who, True, self.maxes[who][0])
        if offered < min_bid:
            return ("bid_too_low", min_bid)
        self.maxes[who] = (offered, next(self.seq))
        ranked = sorted(self.maxes.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
        leader, (top, _) = ranked[0]
        second = ranked[1][1][0] if len(ranked) > 1 else 0
        floor = amount if leader == who and amount else min_bid
        price = max(floor, min(top, second + INCREMENT)) if self.high else floor
        self.high, self.leader = price, leader
        self.prices.append(price)
        return ("ok", price, leader, leader == who, max_amount if leader == who else 0)


class FrozenClock:
    def __init__(self) -> None:
        self.ms = int(time.time() * 1000)

    def time(self) -> float:
        return self.ms / 1000

    def monotonic(self) -> float:
        return self.ms / 1000


money = st.integers(min_value=1, max_value=60).map(lambda n: STARTING + n * 7)  # off the increment grid
step = st.tuples(
    st.sampled_from(BIDDERS),
    st.sampled_from(["plain", "max", "lose_redis"]),
    money,
    st.booleans(),  # a retry with the same Idempotency-Key right after
)


@pytest.fixture(scope="module")
def loop() -> Any:
    made = asyncio.new_event_loop()
    yield made
    made.close()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=30))
def test_proxy_bidding_matches_the_model_after_every_step(
    redis_server: RedisServer, loop: asyncio.AbstractEventLoop, steps: list[tuple[str, str, int, bool]]
) -> None:
    loop.run_until_complete(_run(redis_server.url, steps))


async def _run(url: str, steps: list[tuple[str, str, int, bool]]) -> None:
    redis = Redis.from_url(url)
    clock = FrozenClock()
    book = AuctionBook(redis, clock=clock)  # type: ignore[arg-type]
    aid = "au_" + uuid.uuid4().hex[:16]
    ends_at = clock.ms + 3_600_000
    head = ["active", STARTING, INCREMENT, ends_at, 0, 0]
    rows: list[Row] = []

    async def loader(_: str) -> list[Any]:
        args: list[Any] = [*head, len(rows)]
        for r in rows:
            args += [r.id, r.amount, r.at_ms, r.bidder, r.bidder, r.key, r.fingerprint, ends_at, r.bidder_max]
        return args

    book.set_loader(loader)
    await book.load(aid, [*head, 0])
    model = Model()
    try:
        for who, kind, value, retry in steps:
            clock.ms += 1
            if kind == "lose_redis":
                await redis.delete(*auction_keys(aid))
                continue
            amount, max_amount = (value, 0) if kind == "plain" else (0, value)
            key = uuid.uuid4().hex
            got = await book.bid(
                aid, who, who, amount, "bd_" + uuid.uuid4().hex[:12], key, max_amount=max_amount
            )
            want = model.step(who, amount, max_amount)
            if want[0] in ("bid_too_low", "already_high_bidder"):
                assert (got.code, got.min_bid) == want, (who, kind, value)
            else:
                assert (got.code, got.amount, got.bidder, got.leading, got.your_max) == want, (
                    who,
                    kind,
                    value,
                )
            if got.code == "ok":
                fingerprint = body_hash(amount, max_amount)
                rows.append(
                    Row(
                        got.bid_id,
                        got.amount,
                        got.at_ms,
                        got.bidder,
                        key if got.leading else "",
                        fingerprint,
                        got.bidder_max,
                    )
                )
            elif got.code == "raised":  # the row of the standing high bid carries the raise
                rows[-1].bidder_max = got.your_max
            if retry and got.code in ("ok", "raised"):
                again = await book.bid(aid, who, who, amount, "bd_x", key, max_amount=max_amount)
                assert (again.code, again.bid_id, again.amount, again.leading) == (
                    "replay",
                    got.bid_id,
                    got.amount,
                    got.leading,
                )
            state = await book.state(aid)
            assert (state.high, state.high_bidder, state.bid_count) == (
                model.high,
                model.leader,
                len(model.prices),
            )
            assert [b.amount for b in reversed(state.bids)] == model.prices
        # accepted bids rise by at least the increment, however the maxes met
        assert all(b - a >= INCREMENT for a, b in itertools.pairwise(model.prices)), model.prices
    finally:
        await redis.delete(*auction_keys(aid))
        await redis.aclose()
