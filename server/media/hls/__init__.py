"""LL-HLS from the single encode, recorded as the replay, with pins and offers at their moment."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import Counter

from server.api.context import CLOCK as NODE_CLOCK
from server.api.context import EVENTS, REDIS
from server.api.metrics import METRICS
from server.config import MediaSettings
from server.events import AUCTION, BROADCAST_STATUS, OFFER_STARTED, PINNED, Event
from server.media.hls.clock import ANCHOR_EVERY_S, HlsMediaClock
from server.media.hls.origin import HlsOrigin, recordings_root
from server.media.hls.recorder import RETRY_S, Recorder
from server.media.hls.routes import ORIGIN, router
from server.media.hls.spool import Spool, SpoolBusy
from server.media.hls.store import DirectoryStore, RecordingStore, S3Store, s3_client
from server.tasks import HOURLY_S, repeating

CLOCK = web.AppKey("hls_media_clock", HlsMediaClock)

log = logging.getLogger("liveshop.media")

__all__ = ["CLOCK", "ORIGIN", "HlsMediaClock", "HlsOrigin", "setup"]


def recording_store(settings: MediaSettings) -> RecordingStore:
    """LIVESHOP_RECORDINGS_URL=s3://bucket/prefix picks the object store; else the directory."""
    if settings.recordings_url:
        client = s3_client(
            settings.recordings_s3_endpoint,
            settings.recordings_s3_region,
            settings.recordings_s3_access_key.get_secret_value(),
            settings.recordings_s3_secret_key.get_secret_value(),
            settings.recordings_s3_timeout_s,
        )
        return S3Store(settings.recordings_url, client)
    return DirectoryStore(recordings_root(settings.recordings_dir))


def recording_spool(settings: MediaSettings) -> Spool | None:
    """An object store's refused writes wait on this node's disk (a directory store has no spool: it
    is that disk)."""
    if not settings.recordings_url or settings.recordings_spool_mb == 0:
        return None
    root = recordings_root(settings.recordings_dir) / "spool"
    try:
        return Spool(root, settings.recordings_spool_mb * 1024 * 1024)
    except SpoolBusy:
        log.warning(
            "recording spool held by another node, this one runs without: give each node its own "
            "recordings_dir spool=%s",
            root,
        )
        return None


def setup(app: web.Application, settings: MediaSettings) -> HlsOrigin:
    """The origin, its routes, the moments it marks, and the retention sweep."""
    wall = app[NODE_CLOCK].time
    recorder = Recorder(recording_store(settings), now=wall, spool=recording_spool(settings))
    if METRICS in app:
        writes = Counter(
            "liveshop_recording_writes",
            "Recording writes to the store, by result (written, failed, spooled, dropped)",
            ["result"],
            registry=app[METRICS].registry,
        )
        recorder.on_stats = lambda result: writes.labels(result).inc()
    log.info("recordings store=%s", recorder.store.where)
    origin = HlsOrigin(
        recorder,
        part_s=settings.hls_part_s,
        segment_s=settings.hls_segment_s,
        window=settings.hls_window_segments,
        wall=wall,
    )
    app[ORIGIN] = origin
    clock = app[CLOCK] = HlsMediaClock(origin, app[REDIS])
    router.install(app)

    def mark(broadcast_id: str | None, kind: str, item_id: str | None) -> None:
        stream = origin.streams.get(broadcast_id or "")
        if stream is not None and item_id and not stream.ended:
            stream.mark(kind, item_id)

    async def on_pinned(event: Event) -> None:
        # With several pins the moment is the newly pinned product's; an unpin marks nothing.
        change = event.data.get("change") or {
            "action": "pin",
            "product_id": (event.data.get("product") or {}).get("id"),
        }
        if change.get("action") == "pin":
            mark(event.data.get("broadcast_id"), "pin", change.get("product_id"))

    async def on_offer(event: Event) -> None:
        offer = event.data.get("offer") or {}
        mark(event.data.get("broadcast_id"), "offer", offer.get("id"))

    async def on_auction(event: Event) -> None:
        if event.data.get("type") == "started":
            auction = event.data.get("auction") or {}
            mark(event.data.get("broadcast_id"), "auction", auction.get("id"))

    async def on_broadcast(event: Event) -> None:
        broadcast = event.data.get("broadcast") or {}
        if broadcast.get("status") == "ended" and broadcast.get("id"):
            origin.end(broadcast["id"])

    app[EVENTS].subscribe(PINNED, on_pinned)
    app[EVENTS].subscribe(OFFER_STARTED, on_offer)
    app[EVENTS].subscribe(AUCTION, on_auction)
    app[EVENTS].subscribe(BROADCAST_STATUS, on_broadcast)

    async def retention(_app: web.Application) -> None:
        removed = await asyncio.to_thread(origin.recorder.delete_older_than, settings.replay_retention_days)
        if removed:
            log.info("recordings deleted by retention count=%d", len(removed))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(origin.close)

    app.cleanup_ctx.append(lifecycle)

    async def anchors(_app: web.Application) -> None:
        await clock.write_anchors()

    app.cleanup_ctx.append(repeating(anchors, ANCHOR_EVERY_S, what="media clock anchors"))
    if origin.recorder.spool is not None:

        async def send_spooled(_app: web.Application) -> None:
            origin.recorder.retry_spooled()  # queues onto the writer thread; never blocks the loop

        app.cleanup_ctx.append(repeating(send_spooled, RETRY_S, what="recording spool"))
    if settings.replay_retention_days > 0:  # 0 keeps recordings
        app.cleanup_ctx.append(repeating(retention, HOURLY_S, what="replay retention"))
    return origin
