"""The baseline of `liveshop bench chat`: a bare python-socketio server that emits every message to the
room as it arrives (no batching, no storage, no checks). Usage: python chat_baseline_server.py PORT"""

from __future__ import annotations

import sys

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")


@sio.on("join", namespace="/live")
async def join(sid: str, data: dict) -> dict:
    await sio.enter_room(sid, data["broadcast_id"], namespace="/live")
    return {"ok": True}


@sio.on("chat", namespace="/live")
async def chat(sid: str, data: dict) -> None:
    await sio.emit("chat", {"text": data["text"]}, room=data.get("broadcast_id", "bench"), namespace="/live")


@sio.on("connect", namespace="/live")
async def connect(sid: str, environ: dict, auth: dict | None = None) -> None:
    return None


def main() -> None:
    app = web.Application()
    sio.attach(app)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
