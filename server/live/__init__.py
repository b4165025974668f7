"""The live room: socket.io namespace /live with chat, moderation, pins, offer events, viewer counts."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator

import socketio
from aiohttp import web

from server import events as topics
from server.api.context import DB, EVENTS, INVENTORY, SETTINGS
from server.api.ops import READINESS
from server.config import Settings
from server.live import privacy
from server.live.giveaway import on_giveaway
from server.live.manager import LiveRedisManager, LocalManager
from server.live.namespace import LiveNamespace
from server.live.room import LIVE_ROOM, LiveRoom, user_room
from server.live.routes import router
from server.live.transport import close_on_shutdown
from server.live.transport import install as install_transport
from server.tasks import HOURLY_S, bounded, repeating

CHANNEL = "liveshop:socketio"
log = logging.getLogger("liveshop.live")


def client_manager(settings: Settings) -> socketio.AsyncManager:
    """Rooms span processes through Redis; the embedded default keeps them in this process."""
    if settings.embedded_redis:
        return LocalManager()
    return LiveRedisManager(settings.redis_url, channel=CHANNEL)


def setup(app: web.Application, sio: socketio.AsyncServer) -> LiveRoom:
    """Registers /live, readiness and routes; the room answers the seams app.py wires for commerce."""
    manager = sio.manager
    bus = manager.bus if isinstance(manager, LocalManager | LiveRedisManager) else LocalManager().bus
    room = LiveRoom(app, sio, bus)
    app[LIVE_ROOM] = room
    install_transport(sio, compress=room.cfg.ws_compress)
    close_on_shutdown(app, sio)
    sio.register_namespace(LiveNamespace(room))

    async def room_channel() -> str | None:
        return bus.health()

    app.setdefault(READINESS, {})["room_channel"] = room_channel

    events = app[EVENTS]
    events.subscribe(topics.OFFER_STARTED, room.feed.on_offer_started)
    events.subscribe(topics.OFFER_STOCK, room.feed.on_offer_stock)
    events.subscribe(topics.OFFER_ENDED, room.feed.on_offer_ended)
    events.subscribe(topics.PINNED, room.feed.on_pinned)
    events.subscribe(topics.COUPON, room.feed.on_coupon)
    app[INVENTORY].on_change(room.feed.on_stock_change)

    async def on_status(event: topics.Event) -> None:
        if event.is_local:
            broadcast = event.data["broadcast"]
            # Policies first: a viewer told "ended" must not still be able to chat on another node.
            await room.policy_changed(broadcast["id"])
            await room.emit("broadcast", broadcast, broadcast["id"])

    events.subscribe(topics.BROADCAST_STATUS, on_status)

    async def on_status_measure(event: topics.Event) -> None:
        if event.is_local:  # the node that made the change writes it (the measure is in Redis)
            broadcast = event.data["broadcast"]
            if broadcast["status"] == "live":
                await room.audience.started(broadcast["id"])
            elif broadcast["status"] == "ended":
                await room.audience.ended(broadcast["id"])

    events.subscribe(topics.BROADCAST_STATUS, on_status_measure)
    scrub_chat = functools.partial(privacy.scrub_people, app[DB])
    events.subscribe(topics.PERSON_ERASED, topics.on_person_erased(scrub_chat))
    if (days := app[SETTINGS].retention_chat_days) > 0:  # 0 keeps chat
        step = functools.partial(privacy.prune_chat_now, days=days)
        app.cleanup_ctx.append(repeating(step, HOURLY_S, what="chat retention"))

    async def on_media(event: topics.Event) -> None:
        if event.is_local:  # the encoder's state: publishing | reconnecting | stopped
            data = {"broadcast_id": event.data["broadcast_id"], "state": event.data["state"]}
            await room.emit("media", data, data["broadcast_id"])

    events.subscribe(topics.MEDIA_STATE, on_media)

    async def on_auction(event: topics.Event) -> None:
        if event.is_local:  # {type: started | bid | extended | ended, auction: <as GET shows it>}
            data = {"type": event.data["type"], "auction": event.data["auction"]}
            if data["type"] == "started":  # its moment on the video, as offers and pins carry
                data.update(await room.feed.moment(event.data["broadcast_id"]))
            await room.emit("auction", data, event.data["broadcast_id"])
            outbid = event.data.get("outbid")
            if outbid:  # the viewer whose high bid was just beaten, alone
                await room.emit("outbid", {"auction": event.data["auction"]}, user_room(outbid))
            chance = event.data.get("second_chance")
            if chance:  # the runner-up, alone: the unit is theirs at their last bid (their own hold)
                await room.emit("second_chance", {"auction": event.data["auction"]}, user_room(chance))

    events.subscribe(topics.AUCTION, on_auction)
    events.subscribe(topics.GIVEAWAY, on_giveaway(room, user_room("{}")))
    router.install(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if not sio.manager_initialized:  # start listening now, not at the first connection
            sio.manager_initialized = True
            manager.initialize()
        room.chat.start()
        room.viewers.start()
        yield
        # Bounded: a shutdown step stuck on a dead Redis must not keep the node from stopping.
        await bounded(room.viewers.stop(), what="viewer counts")
        await bounded(room.chat.stop(), what="chat archive")
        if isinstance(manager, LiveRedisManager):
            await bounded(manager.close(), what="room channel")

    app.cleanup_ctx.append(lifecycle)
    return room
