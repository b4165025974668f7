"""Room websockets decline permessage-deflate, so a room frame is not compressed once per viewer."""

from __future__ import annotations

import json

import aiohttp
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.live.room import LIVE_ROOM
from server.live.transport import PlainWebSocket, _poll, install
from tests.api_client import Api
from tests.live.conftest import Room


async def test_a_client_offering_deflate_gets_plain_frames_and_the_room_still_works(
    room: Room, api: Api, node_url: str, node: tuple[web.Application, TestServer]
) -> None:
    token = await api.guest("dee")
    async with aiohttp.ClientSession() as http:
        # Offer permessage-deflate as browsers do (aiohttp's client does not by default).
        url = node_url + "/socket.io/?EIO=4&transport=websocket"
        ws = await http.ws_connect(url, heartbeat=None, compress=15)
        try:
            assert ws.compress == 0
            assert "Sec-WebSocket-Extensions" not in ws._response.headers
            assert (await ws.receive_str()).startswith("0{")
            await ws.send_str("40/live," + json.dumps({"token": token}))
            assert (await ws.receive_str()).startswith("40/live,")
            # engine.io's writer of this websocket waits with liveshop's poll (no task per frame)
            sockets = node[0][LIVE_ROOM].sio.eio.sockets.values()
            assert any(getattr(s.poll, "__func__", None) is _poll for s in sockets)
            await ws.send_str('42/live,1["join",' + json.dumps({"broadcast_id": room.id}) + "]")
            while not (await ws.receive_str(timeout=10)).startswith("43/live,1"):
                pass
            await ws.send_str('42/live,2["chat",{"text":"no deflate here"}]')
            for _ in range(50):
                frame = await ws.receive_str(timeout=10)
                if frame.startswith('42/live,["chat"'):
                    batch = json.loads(frame[len("42/live,") :])[1]
                    assert [m["text"] for m in batch] == ["no deflate here"]
                    break
            else:
                raise AssertionError("no chat frame")
        finally:
            await ws.close()


def test_compression_can_be_kept_by_configuration() -> None:
    plain = socketio.AsyncServer(async_mode="aiohttp")
    install(plain)
    assert plain.eio._async["websocket"] is PlainWebSocket
    kept = socketio.AsyncServer(async_mode="aiohttp")
    install(kept, compress=True)
    assert kept.eio._async["websocket"] is not PlainWebSocket
