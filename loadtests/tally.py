"""Counted room frames into Locust's tables: one stats update per event name per second, not per frame.

Firing Locust's request event once per received frame costs more than receiving it. Viewers that only
count add to a process-wide tally; once a second it lands in Locust's stats as `frames <event>` rows
of type `sio` (count and bytes, no response time), exactly as that many requests would: they show in
the tables, the CSV, requests/s and the history, and a worker ships them to its master as usual.
"""

from __future__ import annotations

import time
from collections import defaultdict

import gevent
from locust.env import Environment
from locust.stats import RequestStats

REQUEST_TYPE = "sio"
FLUSH_S = 1.0


def log_many(stats: RequestStats, request_type: str, name: str, count: int, content_length: int) -> None:
    """`count` requests without a response time, as `StatsEntry.log(None, ...)` would record each."""
    now = time.time()
    second = int(now)
    for entry in (stats.get(name, request_type), stats.total):
        last = entry.last_request_timestamp
        if entry.use_response_times_cache and last and second > int(last):
            entry._cache_response_times(second - 1)  # what log() does when a new second begins
        entry.num_requests += count
        entry.num_none_requests += count
        entry.num_reqs_per_sec[second] += count
        entry.last_request_timestamp = now
        entry.total_content_length += content_length


class FrameTally:
    """Frames and bytes per event name across one process's counting viewers."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.frames: defaultdict[bytes, int] = defaultdict(int)
        self.bytes: defaultdict[bytes, int] = defaultdict(int)
        self._greenlet: gevent.Greenlet | None = None

    def add(self, name: bytes, length: int) -> None:
        self.frames[name] += 1
        self.bytes[name] += length

    def flush(self) -> None:
        frames, sizes = self.frames, self.bytes
        self.frames, self.bytes = defaultdict(int), defaultdict(int)
        for name, count in frames.items():
            label = name.decode(errors="replace")
            log_many(self.environment.stats, REQUEST_TYPE, f"frames {label}", count, sizes[name])

    def start(self) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._flush_forever)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        self.flush()

    def _flush_forever(self) -> None:
        while True:
            gevent.sleep(FLUSH_S)
            self.flush()
