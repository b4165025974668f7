"""The audience's numbers for the sale report: viewers over time, peak and average, watch time, chat.

Each join, leave, disconnect and delivered viewer message is one Lua call on the broadcast's own keys
(hash-tagged, so one cluster slot), written by whichever node the viewer is on: the figures are the
whole room's, on any number of nodes, at the cost of one round trip per change. The report reads them
live while on air; commerce folds them into PostgreSQL when the broadcast ends.

A node that dies with viewers connected cannot record their leaving: their sessions then run to the
broadcast's end (the measure closes there), a small overcount that is written down rather than hidden.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from server.api.attribution import Attribution
from server.clock import Clock, now_ms
from server.live import keys

log = logging.getLogger("liveshop.live")
SCRIPT = (Path(__file__).parent / "audience.lua").read_text()
MAX_SOURCES = 50  # distinct attribution sources counted per broadcast; later ones count only as viewers
TTL_MS = 30 * 86400 * 1000  # long after any show: the report is folded into PostgreSQL at its end


_VIEWER_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def viewer_of(user_id: str, viewer_key: Any) -> str:
    """Who counts as one unique viewer: the watch page's own key when it sends one (it keeps it across the
    quiet guest session it watches with and the named one it buys with), else the account."""
    if isinstance(viewer_key, str) and _VIEWER_KEY.match(viewer_key):
        return "k:" + viewer_key
    return "u:" + user_id


class Audience:
    def __init__(self, redis: Redis, clock: Clock, *, sample_s: float) -> None:
        self.redis = redis
        self.clock = clock
        self.bucket_ms = max(int(sample_s * 1000), 1000)
        self._script: AsyncScript = redis.register_script(SCRIPT)

    async def _change(self, op: str, broadcast_id: str, user_id: str = "", source: str = "") -> None:
        """Never raises: a join or a message must not fail because the measure could not be written."""
        try:
            await self._script(
                keys=[
                    keys.audience(broadcast_id),
                    keys.audience_samples(broadcast_id),
                    keys.audience_viewers(broadcast_id),
                    keys.audience_sources(broadcast_id),
                    keys.audience_source(broadcast_id, source or "-"),
                    keys.audience_chatters(broadcast_id),
                ],
                args=[op, now_ms(self.clock), user_id, self.bucket_ms, source, TTL_MS, MAX_SOURCES],
            )
        except Exception as exc:
            log.warning("audience not recorded op=%s broadcast=%s error=%r", op, broadcast_id, exc)

    async def joined(self, broadcast_id: str, viewer: str, attribution: Attribution) -> None:
        """`viewer`: viewer_of(...), what the unique counts count."""
        await self._change("join", broadcast_id, viewer, attribution.source)

    async def left(self, broadcast_id: str) -> None:
        await self._change("leave", broadcast_id)

    async def chatted(self, broadcast_id: str, user_id: str) -> None:
        await self._change("chat", broadcast_id, user_id)

    async def started(self, broadcast_id: str) -> None:
        await self._change("start", broadcast_id)

    async def ended(self, broadcast_id: str) -> None:
        await self._change("end", broadcast_id)

    async def figures(self, broadcast_id: str) -> dict[str, Any]:
        """The audience so far (or final, after the end): the AudienceFigures seam's answer."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.audience(broadcast_id))
            pipe.hgetall(keys.audience_samples(broadcast_id))
            pipe.pfcount(keys.audience_viewers(broadcast_id))
            pipe.pfcount(keys.audience_chatters(broadcast_id))
            pipe.hkeys(keys.audience_sources(broadcast_id))
            aud_raw, samples_raw, viewers, chatters, source_names = await pipe.execute()
        sources = sorted(_s(s) for s in source_names)
        per_source: list[int] = []
        if sources:
            async with self.redis.pipeline(transaction=False) as pipe:
                for source in sources:
                    pipe.pfcount(keys.audience_source(broadcast_id, source))
                per_source = await pipe.execute()
        aud = {_s(k): int(_s(v)) for k, v in aud_raw.items()}
        now = now_ms(self.clock)
        end = aud.get("end_ms")
        last = aud.get("last_ms", now)
        cur = aud.get("cur", 0)
        until = end if end is not None else max(now, last)
        # the open sessions count up to now (or the end): the area is only written at changes
        watch_ms = aud.get("area_ms", 0) + cur * max(until - last, 0)
        begin = min(x for x in (aud.get("start_ms"), aud.get("first_ms"), until) if x is not None)
        span = max(until - begin, 0)
        chat = aud.get("chat", 0)
        return {
            "viewers_now": 0 if end is not None else cur,
            "peak_viewers": aud.get("peak", 0),
            "average_viewers": round(watch_ms / span, 2) if span else 0.0,
            "unique_viewers": int(viewers),
            "watch_time_s": round(watch_ms / 1000, 3),
            "chat_messages": chat,
            "chat_per_minute": round(chat * 60_000 / span, 2) if span else 0.0,
            "unique_chatters": int(chatters),
            "viewers_by_source": dict(zip(sources, (int(n) for n in per_source), strict=True)),
            "started_ms": begin if aud else None,
            "until_ms": until,
            "sample_ms": self.bucket_ms,
            "samples": _series(samples_raw, begin, until, self.bucket_ms) if aud else [],
        }


def _series(raw: dict[Any, Any], begin: int, until: int, bucket: int) -> list[dict[str, int]]:
    """One point per bucket from the start to now/the end: the most viewers in it (the viewers at the
    last change carried into buckets without one) and its chat messages. At most 2000 points: a longer
    show's buckets are merged (max viewers, summed messages)."""
    fields = {_s(k): int(_s(v)) for k, v in raw.items()}
    first = begin - begin % bucket
    n = (until - first) // bucket + 1
    step = max(1, -(-n // 2000))
    points: list[dict[str, int]] = []
    carry = 0
    for i in range(n):
        t = first + i * bucket
        peak = fields.get(f"v:{t}")
        value = carry if peak is None else max(peak, carry)
        carry = fields.get(f"e:{t}", carry)
        chat = fields.get(f"c:{t}", 0)
        if i % step == 0:
            points.append({"t": t, "viewers": value, "chat": chat})
        else:
            points[-1]["viewers"] = max(points[-1]["viewers"], value)
            points[-1]["chat"] += chat
    return points


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
