"""The recording of every broadcast: its init segments, media segments, VOD playlist, poster and
product timeline, in a RecordingStore (a directory, or an S3-compatible bucket: store.py). Writes go
through one worker thread, in order, so the event loop never waits on the disk or the network; a crash
leaves the segments written so far and a playlist of them (rewritten after each segment), so the
recording stays playable. A store that fails or stalls costs recorded bytes, never the live stream:
writes that cannot keep up are dropped past MAX_PENDING_WRITES (counted, logged), never queued without
bound."""

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
HIDDEN_CACHE_S = 2.0  # every replay request asks; the store is asked at most this often per broadcast

__all__ = ["BROADCAST_ID", "FILE_NAME", "REPLAY_PLAYLIST", "Recorder", "StoreUnavailable"]


class Recorder:
    """Writes recordings to `store` and reads them back for the origin and the replay API. Reads
    block (disk or network): callers run them in a thread. StoreUnavailable means "ask again"."""

    def __init__(self, store: RecordingStore | Path, now: Callable[[], float] = time.time) -> None:
        self.store: RecordingStore = DirectoryStore(store) if isinstance(store, Path) else store
        self.now = now  # the node's clock: retention ages recordings by it
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liveshop-recorder")
        self._last: Future[None] | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._hidden: dict[str, tuple[float, bool]] = {}
        self.stats = {"written": 0, "failed": 0, "dropped": 0}
        self.last_error = ""
        self.failing = False  # the last write failed: nobody waits on the store until one succeeds
        self.on_stats: Callable[[str], None] = lambda result: None  # metrics hook

    def _write(self, broadcast_id: str, name: str, data: bytes) -> None:
        if not BROADCAST_ID.match(broadcast_id):
            return
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
        key = f"{broadcast_id}/{name}"

        def write() -> None:
            try:
                self.store.put(key, data)
            except Exception as exc:
                self._count("failed")
                self.failing = True
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("recording write failed store=%s key=%s error=%r", self.store.where, key, exc)
            else:
                self._count("written")
                self.failing = False
            finally:
                with self._lock:
                    self._pending -= 1

        self._last = self._pool.submit(write)

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
        a store so slow that they have not been within `timeout` is StoreUnavailable."""
        last = self._last
        if last is not None and not last.done() and self.failing:
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
        return self.store.get(f"{broadcast_id}/{name}")

    def replay(self, broadcast_id: str) -> dict[str, Any] | None:
        """The finished recording's facts, or None (not ended, never recorded, or deleted)."""
        if not BROADCAST_ID.match(broadcast_id):
            return None
        raw = self.store.get(f"{broadcast_id}/{TIMELINE}")
        if raw is None:
            return None
        try:
            facts = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(facts, dict) or not self.store.exists(f"{broadcast_id}/{REPLAY_PLAYLIST}"):
            return None
        return facts

    def delete_older_than(self, days: float) -> list[str]:
        """Retention: removes recordings that ended more than `days` ago; returns their ids."""
        cutoff = self.now() - days * 86400
        removed: list[str] = []
        for broadcast_id in self.store.folders():
            if not BROADCAST_ID.match(broadcast_id):
                continue
            facts = self.replay(broadcast_id)
            if facts is not None and float(facts.get("ended_at", self.now())) < cutoff:
                count = self.store.delete_folder(broadcast_id)
                self._hidden.pop(broadcast_id, None)
                log.info("recording deleted by retention broadcast=%s objects=%d", broadcast_id, count)
                removed.append(broadcast_id)
        return removed

    def close(self, timeout: float = 10.0) -> None:
        """Shutdown: what the store takes within `timeout` is kept, the rest is dropped (logged)."""
        try:
            self.drain(timeout)
        except StoreUnavailable:
            log.warning(
                "recording writes dropped at shutdown store=%s pending=%d", self.store.where, self._pending
            )
        self._pool.shutdown(wait=True, cancel_futures=True)
