"""The node's clock (server/clock.py): a shifted clock only jumps forward, and both readings move."""

from __future__ import annotations

import time
from datetime import UTC

import pytest

from server.clock import SYSTEM_CLOCK, ShiftedClock, now_ms, utc


def test_a_shifted_clock_moves_wall_and_monotonic_time_together() -> None:
    clock = ShiftedClock()
    wall, mono = clock.time(), clock.monotonic()
    clock.advance(120)
    assert clock.time() - wall == pytest.approx(120, abs=1)
    assert clock.monotonic() - mono == pytest.approx(120, abs=1)
    assert clock.time() >= time.time() + 119


def test_a_clock_never_goes_back() -> None:
    clock = ShiftedClock()
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert clock.offset == 0


def test_readings_in_milliseconds_and_as_utc() -> None:
    class At:
        def time(self) -> float:
            return 1_700_000_000.123

        def monotonic(self) -> float:
            return 0.0

    assert now_ms(At()) == 1_700_000_000_123
    stamp = utc(At())
    assert stamp.tzinfo is UTC and stamp.timestamp() == pytest.approx(1_700_000_000.123)
    assert abs(now_ms(SYSTEM_CLOCK) - time.time() * 1000) < 1000
