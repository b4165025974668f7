"""Property-based: any interleaving of reserve, release, expire, checkout and end keeps the books."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from redis.asyncio import Redis

from server.clock import now_ms
from server.inventory.engine import Inventory
from server.inventory.rebuild import load_args
from tests.services import RedisServer

QUANTITY = 12
LIMIT = 4
BUYERS = ["b1", "b2", "b3", "b4", "b5"]


class FakeOffer:
    def __init__(self, offer_id: str) -> None:
        from datetime import UTC, datetime, timedelta

        self.id = offer_id
        self.quantity = QUANTITY
        self.per_buyer_limit = LIMIT
        self.status = "active"
        self.ends_at = datetime.now(UTC) + timedelta(days=1)


class FrozenClock:
    """Time stands still until a rule moves it."""

    def __init__(self) -> None:
        self.ms = int(time.time() * 1000)

    def time(self) -> float:
        return self.ms / 1000

    def monotonic(self) -> float:
        return self.ms / 1000


class InventoryMachine(RuleBasedStateMachine):
    """A model of the offer next to the real engine on a real Redis; they must always agree."""

    redis_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = Redis.from_url(self.redis_url)
        self.clock = FrozenClock()
        self.inv = Inventory(self.redis, hold_seconds=60, batch_max=8, clock=self.clock)
        self.offer_id = "of_" + uuid.uuid4().hex[:16]
        self.run(self.inv.load(self.offer_id, load_args(FakeOffer(self.offer_id), {})))  # type: ignore[arg-type]
        self.holds: dict[str, tuple[str, int, int]] = {}  # hold -> buyer, qty, expires
        self.available, self.held, self.sold = QUANTITY, 0, 0
        self.per_buyer: dict[str, int] = dict.fromkeys(BUYERS, 0)
        self.ended = False
        self.replays: dict[tuple[str, str], tuple[int, str | None]] = {}

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()

    def _expire_model(self) -> None:
        for hold, (buyer, qty, exp) in list(self.holds.items()):
            if exp <= now_ms(self.clock):
                del self.holds[hold]
                self.available += qty
                self.held -= qty
                self.per_buyer[buyer] -= qty

    @rule(buyer=st.sampled_from(BUYERS), qty=st.integers(1, 5), key=st.sampled_from(["", "k1", "k2"]))
    def reserve(self, buyer: str, qty: int, key: str) -> None:
        claim = self.run(self.inv.reserve(self.offer_id, buyer, qty, key, str(qty)))
        self._expire_model()  # the script expires due holds before it claims
        previous = self.replays.get((buyer, key)) if key else None
        if previous is not None:
            prev_qty, prev_hold = previous
            assert claim.code == ("replay" if prev_qty == qty else "idempotency_key_reused")
            if claim.code == "replay":
                assert claim.hold_id == prev_hold
            return
        if self.ended:
            assert claim.code == "offer_ended"
        elif self.available == 0:
            assert claim.code == "sold_out"
        elif self.per_buyer[buyer] + qty > LIMIT:
            assert claim.code == "limit_exceeded"
        elif self.available < qty:
            assert claim.code == "sold_out"
        else:
            assert claim.code == "ok", claim
            self.holds[claim.hold_id] = (buyer, qty, claim.expires_ms)
            self.available -= qty
            self.held += qty
            self.per_buyer[buyer] += qty
            if key:
                self.replays[(buyer, key)] = (qty, claim.hold_id)

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        hold = data.draw(st.sampled_from(list(self.holds)))
        buyer, qty, _ = self.holds[hold]
        assert self.run(self.inv.release(hold, "intruder")) == "forbidden"
        assert self.run(self.inv.release(hold, buyer)) == "ok"
        del self.holds[hold]
        self.available += qty
        self.held -= qty
        self.per_buyer[buyer] -= qty

    @rule(ms=st.integers(1_000, 90_000))
    def time_passes_and_the_sweeper_runs(self, ms: int) -> None:
        self.clock.ms += ms
        returned, stale, _ = self.run(self.inv.sweep(self.offer_id))
        before = self.held
        self._expire_model()
        assert returned == before - self.held
        assert stale == []

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), commit=st.booleans())
    def checkout(self, data: st.DataObject, commit: bool) -> None:
        hold = data.draw(st.sampled_from(list(self.holds)))
        buyer, qty, exp = self.holds[hold]
        code, got = self.run(self.inv.begin_checkout(hold, buyer))
        if exp <= now_ms(self.clock):
            assert code == "reservation_expired"
            del self.holds[hold]
            self.available += qty
            self.held -= qty
            self.per_buyer[buyer] -= qty
            return
        assert (code, got) == ("ok", qty)
        assert self.run(self.inv.begin_checkout(hold, buyer))[0] == "checkout_in_progress"
        if commit:
            assert self.run(self.inv.settle_checkout(hold, "sold")) == "ok"
            assert self.run(self.inv.settle_checkout(hold, "sold")) == "gone"  # never confirmed twice
            del self.holds[hold]
            self.held -= qty
            self.sold += qty
        else:
            assert self.run(self.inv.settle_checkout(hold, "abort")) == "ok"

    @precondition(lambda self: not self.ended)
    @rule()
    def end(self) -> None:
        self.run(self.inv.finish(self.offer_id, QUANTITY, self.sold))
        self.ended = True
        self.holds.clear()
        self.available, self.held = 0, 0

    @invariant()
    def books_balance(self) -> None:
        state = self.run(self.inv.state(self.offer_id))
        assert state is not None
        available, held, sold = int(state["available"]), int(state["held"]), int(state["sold"])
        returned = int(state.get("returned", 0))
        assert available + held + sold + returned == QUANTITY
        assert 0 <= sold <= QUANTITY
        assert min(available, held) >= 0
        if not self.ended:
            assert (available, held, sold) == (self.available, self.held, self.sold)
        else:
            assert (available, held, sold, returned) == (0, 0, self.sold, QUANTITY - self.sold)


@pytest.fixture
def machine(redis_server: RedisServer) -> type[InventoryMachine]:
    InventoryMachine.redis_url = redis_server.url
    return InventoryMachine


def test_any_interleaving_keeps_available_held_sold_equal_to_quantity(
    machine: type[InventoryMachine],
) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
