"""The recording of every broadcast: its init segments, media segments, VOD playlist and product
timeline, in a directory (one folder per broadcast). Writes go through one worker thread, in order,
so the event loop never waits on the disk; a crash leaves the segments written so far and a playlist
of them (rewritten after each segment), so the recording stays playable."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from server.media.hls.playlist import init_name, segment_name

log = logging.getLogger("liveshop.media")

# What may be asked for under /hls/{broadcast}/: nothing else is ever opened.
BROADCAST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FILE_NAME = re.compile(r"^(?:init\d{1,6}\.mp4|s\d{1,9}\.m4s|p\d{1,9}\.\d{1,3}\.m4s|poster\.jpg)$")
REPLAY_PLAYLIST = "replay.m3u8"
TIMELINE = "timeline.json"
POSTER = "poster.jpg"
HIDDEN = "hidden"  # present: the host hid the replay


class Recorder:
    """Writes recordings under `root` and reads them back for the origin and the replay API."""

    def __init__(self, root: Path, now: Callable[[], float] = time.time) -> None:
        self.root = root
        self.now = now  # the node's clock: retention ages recordings by it
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liveshop-recorder")
        self._last: Future[None] | None = None

    def folder(self, broadcast_id: str) -> Path | None:
        if not BROADCAST_ID.match(broadcast_id):
            return None
        return self.root / broadcast_id

    def _write(self, broadcast_id: str, name: str, data: bytes) -> None:
        folder = self.folder(broadcast_id)
        if folder is None:
            return

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{name}.partial"
            partial.write_bytes(data)
            partial.replace(folder / name)  # readers see the whole file or none of it

        self._last = self._pool.submit(write)
        self._last.add_done_callback(_log_failure)

    def write_init(self, broadcast_id: str, map_id: int, data: bytes) -> None:
        self._write(broadcast_id, init_name(map_id), data)

    def write_segment(self, broadcast_id: str, msn: int, data: bytes) -> None:
        self._write(broadcast_id, segment_name(msn), data)

    def write_poster(self, broadcast_id: str, jpeg: bytes) -> None:
        self._write(broadcast_id, POSTER, jpeg)

    def write_playlist(self, broadcast_id: str, text: str, *, final: bool = True) -> None:
        self._write(broadcast_id, REPLAY_PLAYLIST if final else ".recording.m3u8", text.encode())

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
        """The host publishes (the default) or hides a replay; hidden ones answer 404 to the public."""
        folder = self.folder(broadcast_id)
        if folder is None:
            return
        if hidden:
            self._write(broadcast_id, HIDDEN, b"1")
        else:
            self.drain()
            (folder / HIDDEN).unlink(missing_ok=True)

    def hidden(self, broadcast_id: str) -> bool:
        folder = self.folder(broadcast_id)
        return folder is not None and (folder / HIDDEN).exists()

    def drain(self, timeout: float = 10.0) -> None:
        """Waits until every write so far is on disk (shutdown, tests)."""
        last = self._last
        if last is not None:
            last.result(timeout)

    # reads (small files; the origin serves them as they are) ---------------------------------------

    def read(self, broadcast_id: str, name: str) -> bytes | None:
        folder = self.folder(broadcast_id)
        if folder is None or not (FILE_NAME.match(name) or name == REPLAY_PLAYLIST):
            return None
        try:
            return (folder / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def replay(self, broadcast_id: str) -> dict[str, Any] | None:
        """The finished recording's facts, or None (not ended, never recorded, or deleted)."""
        folder = self.folder(broadcast_id)
        if folder is None:
            return None
        try:
            facts = json.loads((folder / TIMELINE).read_text())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        if not (folder / REPLAY_PLAYLIST).exists():
            return None
        return dict(facts)

    def delete_older_than(self, days: float) -> list[str]:
        """Retention: removes recordings that ended more than `days` ago; returns their ids."""
        cutoff = self.now() - days * 86400
        removed: list[str] = []
        if not self.root.exists():
            return removed
        for folder in self.root.iterdir():
            facts = self.replay(folder.name)
            if facts is not None and float(facts.get("ended_at", self.now())) < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        return removed

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.warning("recording write failed error=%r", exc)
