"""Retry policy: exponential backoff with jitter, never sooner than the platform asked (Retry-After,
Shopify's cost bucket, Meta's regain-access estimate), and a per-platform gate shared by its tasks."""

from __future__ import annotations

import asyncio
import random
import time


class PlatformError(Exception):
    """A request that did not do its work. `retry_after` is the platform's own wait, if it gave one."""

    transient = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(PlatformError):
    """The platform's throttling signal (429, THROTTLED, 80014, ...): wait, it is not a failure."""


class Transient(PlatformError):
    """5xx, timeouts, dropped connections: retry with backoff."""


class Rejected(PlatformError):
    """The platform refused the request itself (bad data, unknown item, bad credentials): retrying
    the same request will not help, so it goes to the dead letters at once."""

    transient = False


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Equal jitter: half the exponential step fixed, half random; at least what the platform asked."""
    step = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay = step / 2 + random.uniform(0, step / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


class Gate:
    """One per platform: when it throttles, every task of this process waits out the same pause."""

    def __init__(self) -> None:
        self._until = 0.0

    def pause(self, seconds: float) -> None:
        self._until = max(self._until, time.monotonic() + max(seconds, 0.0))

    @property
    def remaining(self) -> float:
        return max(self._until - time.monotonic(), 0.0)

    async def wait(self) -> None:
        # A pause may grow while we wait, so look again after each sleep.
        while (left := self.remaining) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a float, as Shopify's client parses it); HTTP dates are not used by
    these platforms."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
