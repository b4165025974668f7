"""The media clock: where each broadcast's video is now, for chat messages and room events on any node.

The node that packages a broadcast knows its media timeline exactly (HlsStream.moment). Every
ANCHOR_EVERY_S it writes that moment to Redis, so a node whose socket received a chat message (or whose
commerce started an offer) stamps it with the video's time too, extrapolated from an anchor at most a
few seconds old; an older anchor means nobody is publishing, and nothing is stamped.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from redis.asyncio import Redis

from server.api.seams import MediaMoment
from server.loading import BriefCache
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


class AnchorReads(BriefCache[dict[str, Any] | None]):
    """Other nodes' anchors, read from Redis at most every CACHE_S per broadcast, one read in flight:
    a chat flood's messages wait for it instead of each taking a Redis connection (hundreds at once
    emptied the node's pool: MaxConnectionsError everywhere)."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(CACHE_S)
        self.redis = redis

    async def load(self, broadcast_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(anchor_key(broadcast_id))
        return orjson.loads(raw) if raw else None


class HlsMediaClock:
    """Fills the MEDIA_CLOCK seam: this node's streams first, then the anchors other nodes wrote."""

    def __init__(self, origin: HlsOrigin, redis: Redis) -> None:
        self.origin = origin
        self.redis = redis
        self._anchors = AnchorReads(redis)

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
        try:
            anchor = await self._anchors.get(broadcast_id)
        except Exception as exc:  # the message goes out unstamped rather than not at all
            log.warning("media clock read failed broadcast=%s error=%r", broadcast_id, exc)
            return None
        if anchor is None:
            return None
        now = time.time()
        since = now - float(anchor["wall"])
        if not 0 <= since <= STALE_S:
            return None
        at_s, media_ms = float(anchor["at_s"]) + since, float(anchor["media_ms"]) + since * 1000
        pts = (int(anchor.get("pts", 0)) + round(since * VIDEO_CLOCK)) % 2**32
        return MediaMoment(round(at_s, 3), round(media_ms), pts)

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
