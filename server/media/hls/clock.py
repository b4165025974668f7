"""The media clock: where each broadcast's video is now, for chat messages and room events on any node.

The node that packages a broadcast knows its media timeline exactly (HlsStream.moment). Every
ANCHOR_EVERY_S it writes that moment to Redis, so a node whose socket received a chat message (or whose
commerce started an offer) stamps it with the video's time too, extrapolated from an anchor at most a
few seconds old; an older anchor means nobody is publishing, and nothing is stamped.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from redis.asyncio import Redis

from server.api.seams import MediaMoment
from server.media.encoders import VIDEO_CLOCK
from server.media.hls.origin import HlsOrigin

log = logging.getLogger("liveshop.media")

ANCHOR_EVERY_S = 1.0
ANCHOR_TTL_S = 5
STALE_S = 3.0  # an anchor older than this: the publisher is gone (or its node is)
CACHE_S = 0.5  # a flooded chat reads Redis at most twice a second per broadcast


def anchor_key(broadcast_id: str) -> str:
    """string: {"at_s", "media_ms", "pts", "wall"} of the packaging node's newest frame."""
    return f"hls:clock:{broadcast_id}"


class HlsMediaClock:
    """Fills the MEDIA_CLOCK seam: this node's streams first, then the anchors other nodes wrote."""

    def __init__(self, origin: HlsOrigin, redis: Redis) -> None:
        self.origin = origin
        self.redis = redis
        self._cache: dict[str, tuple[float, dict[str, float] | None]] = {}
        # one read in flight per broadcast: a chat flood's messages wait for it instead of each taking
        # a Redis connection (hundreds at once emptied the node's pool: MaxConnectionsError everywhere)
        self._reading: dict[str, asyncio.Future[tuple[float, dict[str, float] | None]]] = {}

    def local(self, broadcast_id: str) -> MediaMoment | None:
        stream = self.origin.streams.get(broadcast_id)
        if stream is None or not stream.live:
            return None
        at_s, dated = stream.moment()
        # media_ms is on the machine's clock, as aiortc's RTCP sender reports are (the node's clock
        # may be moved in tests): the frame's age, taken from now
        age_s = stream.wall() - dated.timestamp()
        return MediaMoment(round(at_s, 3), round((time.time() - age_s) * 1000), stream.newest_pts)

    async def __call__(self, broadcast_id: str) -> MediaMoment | None:
        found = self.local(broadcast_id)
        if found is not None:
            return found
        now = time.time()
        cached = self._cache.get(broadcast_id)
        if cached is None or now - cached[0] > CACHE_S:
            try:
                cached = await self._read(broadcast_id, now)
            except Exception as exc:  # the message goes out unstamped rather than not at all
                log.warning("media clock read failed broadcast=%s error=%r", broadcast_id, exc)
                return None
        anchor = cached[1]
        if anchor is None:
            return None
        since = now - float(anchor["wall"])
        if not 0 <= since <= STALE_S:
            return None
        at_s, media_ms = float(anchor["at_s"]) + since, float(anchor["media_ms"]) + since * 1000
        pts = (int(anchor.get("pts", 0)) + round(since * VIDEO_CLOCK)) % 2**32
        return MediaMoment(round(at_s, 3), round(media_ms), pts)

    async def _read(self, broadcast_id: str, now: float) -> tuple[float, dict[str, float] | None]:
        """The broadcast's anchor from Redis, one read shared by every caller that arrives meanwhile."""
        pending = self._reading.get(broadcast_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[tuple[float, dict[str, float] | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self._reading[broadcast_id] = future
        try:
            raw = await self.redis.get(anchor_key(broadcast_id))
            cached = (now, orjson.loads(raw) if raw else None)
            self._cache[broadcast_id] = cached
            if len(self._cache) > 10_000:
                self._cache.clear()
            future.set_result(cached)
            return cached
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._reading.pop(broadcast_id, None)

    async def write_anchors(self) -> int:
        """One SET per live stream of this node; how many were written."""
        anchors = {bid: self.local(bid) for bid in list(self.origin.streams)}
        live = {bid: m for bid, m in anchors.items() if m is not None}
        if not live:
            return 0
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for bid, m in live.items():
                    body = {"at_s": m.at_s, "media_ms": m.media_ms, "pts": m.pts, "wall": time.time()}
                    pipe.set(anchor_key(bid), orjson.dumps(body), ex=ANCHOR_TTL_S)
                await pipe.execute()
        except Exception as exc:
            log.warning("media clock anchors not written error=%r", exc)
            return 0
        return len(live)


async def no_media_clock(broadcast_id: str) -> MediaMoment | None:
    """The seam when LL-HLS is off: no media timeline to stamp with."""
    return None
