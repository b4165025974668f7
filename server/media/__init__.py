"""Live video: WHIP ingest and WHEP playback, encoded once and fanned out to every viewer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from server.api.context import DB, EVENTS, SETTINGS
from server.api.seams import MediaClock
from server.broadcasts import Broadcast, set_status
from server.config import MediaSettings
from server.errors import DomainError
from server.events import BROADCAST_STATUS, MEDIA_STATE, Event
from server.media import hls, ice
from server.media.hls.clock import no_media_clock
from server.media.routes import HUB, install
from server.media.sessions import MediaHub
from server.signing_secret import is_loopback
from server.tasks import bounded, stop_task

log = logging.getLogger("liveshop.media")

__all__ = ["HUB", "MediaHub", "MediaSettings", "media_clock", "setup"]


def media_clock(app: web.Application) -> MediaClock:
    """The MEDIA_CLOCK seam: the LL-HLS media timeline when HLS is on, else nothing to stamp with."""
    return app[hls.CLOCK] if hls.CLOCK in app else no_media_clock


def setup(app: web.Application, settings: MediaSettings | None = None) -> None:
    """Registers the WHIP/WHEP routes, the media hub, and its reaper."""
    settings = settings or app[SETTINGS].media
    ice.restrict_host_addresses(settings.host_addresses)
    deny = settings.ice_deny_private
    if deny == "auto":
        deny = "no" if is_loopback(app[SETTINGS].host) else "yes"
    ice.restrict_peers(settings.peer_networks, deny_private=deny == "yes")

    async def on_state(broadcast_id: str, state: str) -> None:
        await app[EVENTS].publish(MEDIA_STATE, {"broadcast_id": broadcast_id, "state": state})

    async def on_live(broadcast_id: str) -> None:
        try:
            await set_status(app[DB], app[EVENTS], broadcast_id, "live")
        except DomainError as exc:  # ended meanwhile: the BROADCAST_STATUS handler closes us
            log.info("broadcast not set live broadcast=%s code=%s", broadcast_id, exc.code)

    hub = MediaHub(settings, on_state, on_live)
    app[HUB] = hub
    if settings.hls_enabled:
        hub.hls = hls.setup(app, settings)

    async def on_broadcast(event: Event) -> None:
        broadcast = event.data.get("broadcast") or {}
        if broadcast.get("status") == "ended" and broadcast.get("id"):
            await hub.end_broadcast(broadcast["id"])

    app[EVENTS].subscribe(BROADCAST_STATUS, on_broadcast)

    async def reaper() -> None:
        """Idle sessions, and broadcasts ended on another node (whose event we did not hear)."""
        rounds = 0
        while True:
            await asyncio.sleep(settings.reap_interval_s)
            rounds += 1
            try:
                await hub.reap()
                if rounds % 3 == 0 and hub.fanouts:
                    async with app[DB]() as session:
                        for broadcast_id in list(hub.fanouts):
                            found = await session.get(Broadcast, broadcast_id, populate_existing=True)
                            if found is None or found.status == "ended":
                                await hub.end_broadcast(broadcast_id)
            except Exception as exc:
                log.warning("media reaper round failed error=%r", exc)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(reaper(), name="media-reaper")
        yield
        await stop_task(task, what="media reaper")
        await bounded(hub.close_all(), within=5, what="media sessions")

    app.cleanup_ctx.append(lifecycle)
    install(app)
