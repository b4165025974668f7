"""The HLS origin: one HlsStream per live broadcast, served under /hls/{broadcast_id}/ with the cache
headers a CDN honours, and the recordings served the same way once the broadcast has ended.

Playlists support LL-HLS blocking reload (`_HLS_msn` / `_HLS_part`): the request waits for that
part, so a CDN can collapse thousands of waiting players into one origin request per part.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from server.errors import DomainError, NotFound
from server.media.hls.playlist import segment_name
from server.media.hls.recorder import BROADCAST_ID, FILE_NAME, REPLAY_PLAYLIST, Recorder, StoreUnavailable
from server.media.hls.stream import HlsStream

log = logging.getLogger("liveshop.media")

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
# Parts and segments never change once written; playlists change every part.
IMMUTABLE = "public, max-age=31536000, immutable"
LIVE_PLAYLIST = "public, max-age=1"
BLOCKED_PLAYLIST = "public, max-age=60"  # the answer to one _HLS_msn/_HLS_part never changes
ENDED_PLAYLIST = "public, max-age=300"

T = TypeVar("T")


async def stored(call: Callable[..., T], *args: Any) -> T:
    """A recorder read or change, off the event loop; a store that does not answer is a 503 with
    Retry-After (the live stream, served from memory, is not affected)."""
    try:
        return await asyncio.to_thread(call, *args)
    except StoreUnavailable as exc:
        log.warning("recording store unavailable error=%s", exc)
        error = DomainError("service_unavailable", "Recordings are briefly unavailable; retry")
        error.headers["Retry-After"] = "2"
        raise error from exc


class HlsOrigin:
    """The node's live HLS streams and its recordings."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        part_s: float,
        segment_s: float,
        window: int,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.recorder = recorder
        # the node's clock: chat stamps, offer windows and these playlists' dates must agree
        self.wall = wall
        self.part_s = part_s
        self.segment_s = segment_s
        self.window = window
        self.streams: dict[str, HlsStream] = {}

    def stream(self, broadcast_id: str) -> HlsStream:
        found = self.streams.get(broadcast_id)
        if found is None or found.ended:
            found = self.streams[broadcast_id] = HlsStream(
                broadcast_id,
                part_s=self.part_s,
                segment_s=self.segment_s,
                window=self.window,
                recorder=self.recorder,
                wall=self.wall,
            )
        return found

    def end(self, broadcast_id: str) -> None:
        stream = self.streams.get(broadcast_id)
        if stream is not None:
            stream.end()

    def close(self) -> None:
        """Shutdown: what was recorded stays on disk; only a broadcast's end writes its replay."""
        for stream in self.streams.values():
            stream.flush()
        self.recorder.close()


def _int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise DomainError("bad_request", f"{name} must be a non-negative integer", field=name)
    return int(raw)


def _broadcast_id(request: web.Request) -> str:
    broadcast_id = request.match_info["broadcast_id"]
    if not BROADCAST_ID.match(broadcast_id):
        raise NotFound("broadcast")
    return broadcast_id


async def serve_playlist(origin: HlsOrigin, request: web.Request) -> web.Response:
    broadcast_id = _broadcast_id(request)
    stream = origin.streams.get(broadcast_id)
    if (stream is None or stream.ended) and await stored(origin.recorder.hidden, broadcast_id):
        raise NotFound("live video")
    if stream is None:
        recorded = await stored(origin.recorder.read, broadcast_id, REPLAY_PLAYLIST)
        if recorded is None:
            raise NotFound("live video")
        return _playlist(recorded.decode(), ENDED_PLAYLIST)
    if stream.ended:  # the whole recording, not only the live window
        return _playlist(stream.replay_playlist(), ENDED_PLAYLIST)
    msn, part = _int(request, "_HLS_msn"), _int(request, "_HLS_part")
    if part is not None and msn is None:
        raise DomainError("bad_request", "_HLS_part needs _HLS_msn", field="_HLS_part")
    if msn is not None:
        if msn > stream.next_msn + 1:  # more than two segments ahead of the live edge
            raise DomainError("bad_request", "_HLS_msn is too far ahead of the live edge", field="_HLS_msn")
        if not await stream.wait_for(msn, part, timeout=3 * stream.target_s):
            error = DomainError("service_unavailable", "That part is not out yet; retry")
            error.headers["Retry-After"] = "1"
            raise error
        if stream.ended:
            return _playlist(stream.replay_playlist(), ENDED_PLAYLIST)
        return _playlist(stream.playlist(), BLOCKED_PLAYLIST)
    return _playlist(stream.playlist(), LIVE_PLAYLIST)


def _playlist(text: str, cache: str) -> web.Response:
    return web.Response(
        text=text,
        content_type=PLAYLIST_TYPE,
        headers={"Cache-Control": cache, "Access-Control-Allow-Origin": "*"},
    )


async def serve_file(origin: HlsOrigin, request: web.Request) -> web.Response:
    broadcast_id = _broadcast_id(request)
    name = request.match_info["name"]
    if not FILE_NAME.match(name):
        raise NotFound("file")
    stream = origin.streams.get(broadcast_id)
    if (stream is None or stream.ended) and await stored(origin.recorder.hidden, broadcast_id):
        raise NotFound("file")
    data = _live_bytes(origin.streams.get(broadcast_id), name)
    if data is None:
        data = await stored(origin.recorder.read, broadcast_id, name)
    if data is None:
        raise NotFound("file")
    content_type = "image/jpeg" if name.endswith(".jpg") else "video/mp4"
    cache = "public, max-age=5" if name.endswith(".jpg") else IMMUTABLE
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Cache-Control": cache, "Access-Control-Allow-Origin": "*"},
    )


def _live_bytes(stream: HlsStream | None, name: str) -> bytes | None:
    if stream is None:
        return None
    if name == "poster.jpg":
        return stream.poster
    if name.startswith("init"):
        return stream.inits.get(int(name[4:-4]))
    if name.startswith("p"):
        msn, index = name[1:-4].split(".")
        return stream.part_bytes(int(msn), int(index))
    if name == segment_name(int(name[1:-4])) and name.startswith("s"):
        return stream.segment_bytes(int(name[1:-4]))
    return None


def recordings_root(path: str) -> Path:
    return Path(path).expanduser().resolve()
