"""Bad input: a clear error, no crash, and everyone else in the room unaffected."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

from tests.api_client import Api
from tests.live.conftest import NS, Clients, Room


async def test_connect_without_or_with_a_forged_token_is_refused_clearly(node_url: str) -> None:
    for auth in (None, {}, {"token": 42}, {"token": "forged.token.value"}):
        client = socketio.AsyncClient(reconnection=False)
        refusals: list[object] = []
        client.on("connect_error", refusals.append, namespace=NS)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                node_url, namespaces=[NS], auth=auth, transports=["websocket"], wait_timeout=5
            )
        assert refusals, auth
        refusal = refusals[0]
        assert "token" in refusal["message"]
        assert refusal["data"]["code"] in ("unauthorized", "invalid_token"), refusal
        await client.disconnect()


async def test_wrong_payloads_get_error_acks_and_the_connection_stays_usable(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    bystander = await clients(node_url, await api.guest("bystander"))
    await bystander.join(room.id)
    client = await clients(node_url, await api.guest("fuzzer"))
    assert (await client.call("chat", {"text": "before joining"}))["error"]["code"] == "not_joined"
    assert (await client.call("join", {"broadcast_id": "bc_nope"}))["error"]["code"] == "not_found"
    for bad in (None, 5, [1, 2], {"broadcast_id": 7}, {"broadcast_id": "x" * 500}, {"nope": 1}):
        ack = await client.call("join", bad)
        assert ack["error"]["code"] in ("validation_error", "not_found"), (bad, ack)
    await client.join(room.id)
    for bad in (
        None,
        "text",
        5,
        [1],
        {"text": None},
        {"text": ["a"]},
        {"text": {"x": 1}},
        {"text": b"\x00\xff binary"},
    ):
        ack = await client.call("chat", bad)
        assert ack["error"]["code"] == "validation_error", (bad, ack)
    for bad in (None, "ban", {"action": "ban"}, {"action": "nuke", "user_id": "u"}):
        ack = await client.call("moderate", bad)
        assert "error" in ack, (bad, ack)
    assert (await client.call("settings", {"slow_mode_s": "1"}))["error"]["code"] == "validation_error"
    assert (await client.call("settings", {"slow_mode_s": 1}))["error"]["code"] == "forbidden"
    huge = await client.call("chat", {"text": "y" * 20_000})
    assert huge["error"]["code"] == "message_too_long"
    assert (await client.call("chat", {"text": "still fine"}))["ok"]
    await bystander.wait(lambda: "still fine" in bystander.chat_texts())


async def test_binary_junk_and_oversized_frames_cost_only_the_sender_its_connection(
    room: Room, api: Api, clients: Clients, node_url: str, http: aiohttp.ClientSession
) -> None:
    bystander = await clients(node_url, await api.guest("calm"))
    await bystander.join(room.id)
    ws_url = node_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    junk = [
        b"\x00\xff\xfe garbage",
        "4garbage",
        "42/live,[[[[",
        '42/live,99["chat"]',
        "9",
        "",
        '42/live,["join",' + "1" * 70_000 + "]",
    ]
    for frame in junk:
        async with http.ws_connect(ws_url) as ws:
            await ws.receive(timeout=5)  # engine.io open packet
            await ws.send_str('40/live,{"token":"' + bystander.token + '"}')
            await ws.receive(timeout=5)  # namespace connect ack
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
            try:
                await asyncio.wait_for(ws.receive(), 1)
            except TimeoutError:
                pass
    huge = await http.ws_connect(ws_url)
    await huge.receive(timeout=5)
    await huge.send_str("x" * (2 * 1024 * 1024))
    msg = await huge.receive(timeout=5)
    assert msg.type in (
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.CLOSING,
        aiohttp.WSMsgType.ERROR,
    )
    await huge.close()
    speaker = await clients(node_url, await api.guest("speaker"))
    await speaker.join(room.id)
    assert (await speaker.call("chat", {"text": "after the junk"}))["ok"]
    await bystander.wait(lambda: "after the junk" in bystander.chat_texts())
    r = await api.call("GET", "/readyz")
    assert r.status == 200, r.body
