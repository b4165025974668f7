"""One read for a crowd (server/loading.py): concurrent misses share one load, its answer or its error;
brief answers age out on the node's clock and a local change forgets them at once."""

from __future__ import annotations

import asyncio

import pytest

from server.clock import ShiftedClock
from server.loading import BriefCache, SingleFlight


class Counted(BriefCache[str]):
    """Answers "<key>#<n>", n counting the loads, each held open until `gate` is set."""

    def __init__(self, clock: ShiftedClock, ttl_s: float = 1.0) -> None:
        super().__init__(ttl_s, timer=clock.monotonic)
        self.loads = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None

    async def load(self, key: str) -> str:
        self.loads += 1
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return f"{key}#{self.loads}"


async def test_a_crowd_of_concurrent_misses_costs_one_load_and_all_get_its_answer() -> None:
    cache = Counted(ShiftedClock())
    cache.gate.clear()
    crowd = [asyncio.create_task(cache.get("b1")) for _ in range(500)]
    await asyncio.sleep(0)
    cache.gate.set()
    assert set(await asyncio.gather(*crowd)) == {"b1#1"} and cache.loads == 1
    assert await cache.get("b2") == "b2#2"  # another key, its own load


async def test_an_answer_ages_out_on_the_clock_and_a_local_change_forgets_it_at_once() -> None:
    clock = ShiftedClock()
    cache = Counted(clock, ttl_s=1.0)
    assert await cache.get("b") == "b#1"
    clock.advance(0.5)
    assert await cache.get("b") == "b#1"  # still fresh
    clock.advance(0.6)
    assert await cache.get("b") == "b#2"  # aged out: read again
    cache.forget("b")
    assert await cache.get("b") == "b#3"


async def test_a_failed_load_reaches_every_waiter_and_the_next_call_tries_again() -> None:
    cache = Counted(ShiftedClock())
    cache.gate.clear()
    cache.fail = ConnectionError("database away")
    crowd = [asyncio.create_task(cache.get("b")) for _ in range(20)]
    await asyncio.sleep(0)
    cache.gate.set()
    results = await asyncio.gather(*crowd, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results) and cache.loads == 1
    cache.fail = None
    assert await cache.get("b") == "b#2"  # nothing cached from the failure, nothing left in flight


async def test_a_waiter_cancelled_while_waiting_leaves_the_load_and_the_others_alone() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    gate = asyncio.Event()

    async def load() -> int:
        await gate.wait()
        return 7

    first = asyncio.create_task(flight.run("k", load))
    await asyncio.sleep(0)
    impatient = asyncio.create_task(flight.run("k", load))
    await asyncio.sleep(0)
    assert "k" in flight
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    gate.set()
    assert await first == 7 and "k" not in flight
