"""The one clock of a node: hold expiry, offer windows, the sweeper and the chat limits read it, so a
test moves time instead of waiting for it to pass."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (what expiries and offer windows are written in)."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go back (for intervals: rate buckets, cache ages)."""
        ...


class SystemClock:
    """The machine's clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ShiftedClock:
    """The machine's clock plus an offset that only grows: `advance(s)` jumps both readings forward,
    while time still flows, so timers, PostgreSQL and Redis around it keep working."""

    def __init__(self) -> None:
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes back")
        self.offset += seconds

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


SYSTEM_CLOCK = SystemClock()


def now_ms(clock: Clock) -> int:
    """Epoch milliseconds, as the Lua scripts take `now` (rounded: a clock set in ms reads back exact)."""
    return round(clock.time() * 1000)


def utc(clock: Clock) -> datetime:
    """The clock's reading as an aware UTC datetime (for rows and API views)."""
    return datetime.fromtimestamp(clock.time(), UTC)
