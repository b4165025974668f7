"""The live room: socket.io namespace /live with chat, moderation, pins, offer events, viewer counts."""

from __future__ import annotations

import socketio
from aiohttp import web

from server.config import Settings


def client_manager(settings: Settings) -> socketio.AsyncManager:
    """Rooms span processes through Redis; the embedded default keeps them in this process."""
    if settings.embedded_redis:
        return socketio.AsyncManager()
    return socketio.AsyncRedisManager(settings.redis_url, channel="liveshop:socketio")


def setup(app: web.Application, sio: socketio.AsyncServer) -> None:
    """Registers the /live namespace (built in the live room issue)."""
