"""A node stops in seconds whatever its clients leave open: room websockets, a long-poll, a raw
engine.io websocket nobody closes, a WHEP session that never connected."""

from __future__ import annotations

import asyncio

import aiohttp
import socketio

from loadtests.media_clients import new_pc
from server.config import Settings
from tests.api_client import Api
from tests.conftest import start_app
from tests.live.conftest import NS, RoomClient, make_room

# Far below aiohttp's 60 s wait for a request still running at shutdown, which is what an open
# websocket costs when the node does not close it itself.
CLOSE_BOUND_S = 10


async def test_a_node_with_open_room_connections_and_sessions_closes_in_seconds(
    settings: Settings, http: aiohttp.ClientSession
) -> None:
    app, server = await start_app(settings)
    base = str(server.make_url("")).rstrip("/")
    api = Api(http, base)
    room = await make_room(app, api)
    viewers = [await RoomClient(base, await api.guest(f"v{i}")).connect() for i in range(3)]
    for viewer in viewers:
        await viewer.join(room.id)
    polling = socketio.AsyncClient(reconnection=False)
    await polling.connect(base, namespaces=[NS], auth={"token": room.host}, transports=["polling"])
    raw = await http.ws_connect(base + "/socket.io/?EIO=4&transport=websocket")
    assert (await raw.receive_str(timeout=10)).startswith("0")  # engine.io open: then silence
    pc = new_pc()  # a WHEP viewer that never connects: the node holds its peer connection
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    whep = await api.call(
        "POST", f"/whep/{room.id}", data=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"}
    )
    await pc.close()
    assert whep.status == 201, whep.body
    try:
        await asyncio.wait_for(server.close(), CLOSE_BOUND_S)
        # the node said goodbye to every client rather than dropping them
        said = [await raw.receive(timeout=5) for _ in range(2)]  # engine.io's close packet, then the close
        assert said[0].data == "1" and said[1].type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        for viewer in viewers:
            await viewer.wait(lambda v=viewer: not v.sio.connected, timeout=5, what="disconnected")
    finally:
        for viewer in viewers:
            viewer.sio.reconnection = False
        await asyncio.gather(*(v.close() for v in viewers), polling.disconnect(), raw.close())
