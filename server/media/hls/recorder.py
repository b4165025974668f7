"""The recording of every broadcast: its init segments, media segments, VOD playlist, poster and
product timeline, in a RecordingStore (a directory, or an S3-compatible bucket: store.py). Writes go
through one worker thread, in order, so the event loop never waits on the disk or the network; a crash
leaves the segments written so far and a playlist of them (rewritten after each segment), so the
recording stays playable. A store that fails or stalls costs the live stream nothing: with a spool
(spool.py, for object stores) what it refuses waits on the node's disk, in order, and goes on when it
answers again (tried every RETRY_S); without one, or past the spool's size, the write is lost (counted,
logged). Writes that cannot keep up are dropped past MAX_PENDING_WRITES, never queued without bound."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from server.media.hls.playlist import init_name, segment_name
from server.media.hls.spool import Spool
from server.media.hls.store import DirectoryStore, RecordingStore, StoreUnavailable

log = logging.getLogger("liveshop.media")

# What may be asked for under /hls/{broadcast}/: nothing else is ever opened.
BROADCAST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FILE_NAME = re.compile(r"^(?:init\d{1,6}\.mp4|s\d{1,9}\.m4s|p\d{1,9}\.\d{1,3}\.m4s|poster\.jpg)$")
REPLAY_PLAYLIST = "replay.m3u8"
TIMELINE = "timeline.json"
POSTER = "poster.jpg"
HIDDEN = "hidden"  # present: the host hid the replay
MAX_PENDING_WRITES = 200  # about 3 minutes of segments and their playlists
RETRY_S = 2.0  # a failing store is tried again this often; meanwhile writes go straight to the spool
HIDDEN_CACHE_S = 2.0  # every replay request asks; the store is asked at most this often per broadcast

__all__ = ["BROADCAST_ID", "FILE_NAME", "REPLAY_PLAYLIST", "Recorder", "StoreUnavailable"]


class Recorder:
    """Writes recordings to `store` and reads them back for the origin and the replay API. Reads
    block (disk or network): callers run them in a thread. StoreUnavailable means "ask again"."""

    def __init__(
        self,
        store: RecordingStore | Path,
        now: Callable[[], float] = time.time,
        spool: Spool | None = None,
        retry_s: float = RETRY_S,
    ) -> None:
        self.store: RecordingStore = DirectoryStore(store) if isinstance(store, Path) else store
        self.now = now  # the node's clock: retention ages recordings by it
        self.spool = spool
        self.retry_s = retry_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liveshop-recorder")
        self._last: Future[None] | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._retry_at = 0.0  # (monotonic) until then a failing store is not asked, writes spool
        self._hidden: dict[str, tuple[float, bool]] = {}
        self.stats = {"written": 0, "failed": 0, "spooled": 0, "dropped": 0}
        self.last_error = ""
        self.failing = False  # the last write failed: nobody waits on the store until one succeeds
        self.on_stats: Callable[[str], None] = lambda result: None  # metrics hook

    def _write(self, broadcast_id: str, name: str, data: bytes) -> None:
        if not BROADCAST_ID.match(broadcast_id):
            return
        key = f"{broadcast_id}/{name}"
        self._submit(lambda: self._put(key, data))

    def _submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._pending >= MAX_PENDING_WRITES:
                self._count("dropped")
                if self.stats["dropped"] % 50 == 1:
                    log.warning(
                        "recording writes dropped: the store is not keeping up store=%s dropped=%d",
                        self.store.where,
                        self.stats["dropped"],
                    )
                return
            self._pending += 1

        def run() -> None:
            try:
                job()
            finally:
                with self._lock:
                    self._pending -= 1

        self._last = self._pool.submit(run)

    def _put(self, key: str, data: bytes) -> None:
        """One write, on the writer thread: nothing passes a write that waits in the spool."""
        if self.spool is not None and (len(self.spool) or time.monotonic() < self._retry_at):
            self._keep(key, data)
            self._send_spooled()
            return
        try:
            self.store.put(key, data)
        except Exception as exc:
            self._failed(key, exc)
            if self.spool is not None:
                self._keep(key, data)
        else:
            self._count("written")
            self.failing = False

    def _failed(self, key: str, exc: Exception) -> None:
        self._count("failed")
        self.failing = True
        self._retry_at = time.monotonic() + self.retry_s
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("recording write failed store=%s key=%s error=%r", self.store.where, key, exc)

    def _keep(self, key: str, data: bytes) -> None:
        assert self.spool is not None
        if self.spool.add(key, data):
            self._count("spooled")
        else:
            self._count("dropped")
            log.warning("recording write dropped: the spool is full key=%s bytes=%d", key, self.spool.bytes)

    def _send_spooled(self) -> None:
        """The waiting writes, oldest first, while the store takes them (at most once per `retry_s`
        while it fails)."""
        if self.spool is None or time.monotonic() < self._retry_at:
            return
        while (waiting := self.spool.oldest()) is not None:
            key, data = waiting
            try:
                self.store.put(key, data)
            except Exception as exc:
                self._failed(key, exc)
                return
            self.spool.sent(key)
            self._count("written")
        if self.failing:
            log.info("recording store answers again: the spool is sent store=%s", self.store.where)
        self.failing = False

    def retry_spooled(self) -> None:
        """The periodic nudge (no write may come for a while after a show): send what waits."""
        if self.spool is not None and len(self.spool) and self._pending == 0:
            self._submit(self._send_spooled)

    def _count(self, result: str) -> None:
        self.stats[result] += 1
        self.on_stats(result)

    def write_init(self, broadcast_id: str, map_id: int, data: bytes) -> None:
        self._write(broadcast_id, init_name(map_id), data)

    def write_segment(self, broadcast_id: str, msn: int, data: bytes) -> None:
        self._write(broadcast_id, segment_name(msn), data)

    def write_poster(self, broadcast_id: str, jpeg: bytes) -> None:
        self._write(broadcast_id, POSTER, jpeg)

    def write_playlist(self, broadcast_id: str, text: str, *, final: bool = True) -> None:
        self._write(broadcast_id, REPLAY_PLAYLIST if final else "recording.m3u8", text.encode())

    def write_timeline(
        self,
        broadcast_id: str,
        timeline: list[dict[str, Any]],
        duration_s: float,
        periods: list[tuple[float, float]],
    ) -> None:
        body = {
            "duration_s": round(duration_s, 3),
            "timeline": timeline,
            "periods": [{"at_s": at, "wall": wall} for at, wall in periods],
            "ended_at": self.now(),
        }
        self._write(broadcast_id, TIMELINE, json.dumps(body).encode())

    def set_hidden(self, broadcast_id: str, hidden: bool) -> None:
        """The host publishes (the default) or hides a replay; hidden ones answer 404 to the public.
        Blocks until the store has it (run in a thread): the host's answer must be true."""
        if not BROADCAST_ID.match(broadcast_id):
            return
        self.drain()
        key = f"{broadcast_id}/{HIDDEN}"
        if hidden:
            self.store.put(key, b"1")
        else:
            self.store.delete(key)
        self._hidden[broadcast_id] = (time.monotonic(), hidden)

    def hidden(self, broadcast_id: str) -> bool:
        if not BROADCAST_ID.match(broadcast_id):
            return False
        cached = self._hidden.get(broadcast_id)
        if cached is not None and time.monotonic() - cached[0] < HIDDEN_CACHE_S:
            return cached[1]
        hidden = self.store.exists(f"{broadcast_id}/{HIDDEN}")
        if len(self._hidden) > 10_000:
            self._hidden.clear()
        self._hidden[broadcast_id] = (time.monotonic(), hidden)
        return hidden

    def drain(self, timeout: float = 10.0) -> None:
        """Waits until every write so far has been tried (shutdown, tests, before a host's change);
        a store so slow that they have not been within `timeout` is StoreUnavailable. Without a spool a
        failing store is not waited on; with one, its writes land on the disk quickly, so they are."""
        last = self._last
        if last is not None and not last.done() and self.failing and self.spool is None:
            raise StoreUnavailable(f"the store is failing: {self.last_error}")
        if last is not None:
            try:
                last.result(timeout)
            except FutureTimeout as exc:
                raise StoreUnavailable("recording writes are still pending") from exc
            except CancelledError:
                pass

    # reads (small files; the origin serves them as they are) ---------------------------------------

    def read(self, broadcast_id: str, name: str) -> bytes | None:
        if not BROADCAST_ID.match(broadcast_id) or not (FILE_NAME.match(name) or name == REPLAY_PLAYLIST):
            return None
        return self._get(f"{broadcast_id}/{name}")

    def _get(self, key: str) -> bytes | None:
        """A waiting write is newer than the store's copy."""
        if self.spool is not None and (waiting := self.spool.get(key)) is not None:
            return waiting
        return self.store.get(key)

    def _exists(self, key: str) -> bool:
        return (self.spool is not None and self.spool.get(key) is not None) or self.store.exists(key)

    def replay(self, broadcast_id: str) -> dict[str, Any] | None:
        """The finished recording's facts, or None (not ended, never recorded, or deleted)."""
        if not BROADCAST_ID.match(broadcast_id):
            return None
        raw = self._get(f"{broadcast_id}/{TIMELINE}")
        if raw is None:
            return None
        try:
            facts = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(facts, dict) or not self._exists(f"{broadcast_id}/{REPLAY_PLAYLIST}"):
            return None
        return facts

    def delete_older_than(self, days: float) -> list[str]:
        """Retention: removes recordings that ended more than `days` ago; returns their ids."""
        cutoff = self.now() - days * 86400
        removed: list[str] = []
        spooled = self.spool.folders() if self.spool is not None else set()
        for broadcast_id in sorted(set(self.store.folders()) | spooled):
            if not BROADCAST_ID.match(broadcast_id):
                continue
            facts = self.replay(broadcast_id)
            if facts is not None and float(facts.get("ended_at", self.now())) < cutoff:
                count = self.store.delete_folder(broadcast_id)
                if self.spool is not None:
                    count += self.spool.drop_folder(broadcast_id)
                self._hidden.pop(broadcast_id, None)
                log.info("recording deleted by retention broadcast=%s objects=%d", broadcast_id, count)
                removed.append(broadcast_id)
        return removed

    def close(self, timeout: float = 10.0) -> None:
        """Shutdown: what the store (or the spool) takes within `timeout` is kept, the rest is dropped
        (logged)."""
        try:
            self.drain(timeout)
        except StoreUnavailable:
            log.warning(
                "recording writes dropped at shutdown store=%s pending=%d", self.store.where, self._pending
            )
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.spool is not None:
            self.spool.close()
