"""Redis trouble: a restart under a busy room, and a subscription that silently stops hearing."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.live.room import LIVE_ROOM
from tests.api_client import Api
from tests.live.conftest import Clients, RoomClient, eventually, make_room
from tests.services import RedisServer, ServerProcess


async def _ready(http: aiohttp.ClientSession, url: str) -> tuple[int, dict]:
    try:
        async with http.get(url + "/readyz", timeout=aiohttp.ClientTimeout(total=4)) as r:
            return r.status, await r.json()
    except (aiohttp.ClientError, TimeoutError):
        return 0, {}


async def _chatter(client: RoomClient, stop: asyncio.Event, errors: list[str]) -> None:
    i = 0
    while not stop.is_set():
        try:
            ack = await client.call("chat", {"text": f"{client.token[-6:]} busy {i}"}, timeout=5)
            if "error" in ack:
                errors.append(ack["error"]["code"])
        except Exception as exc:
            errors.append(type(exc).__name__)
        i += 1
        await asyncio.sleep(1.05)  # each talker at the per-user rate limit


async def test_redis_restart_under_a_busy_room_both_processes_recover_to_the_same_state(
    node: tuple[web.Application, TestServer],
    two_nodes: tuple[ServerProcess, ServerProcess],
    two_apis: tuple[Api, Api],
    redis_server: RedisServer,
    clients: Clients,
    http: aiohttp.ClientSession,
) -> None:
    a, b = two_nodes
    api_a, api_b = two_apis
    room = await make_room(node[0], api_a)
    offer = await api_a.offer(room.host, room.id, room.product["id"], quantity=50, per_buyer_limit=1)
    viewers = {n: await clients(n.url, await (api_a if n is a else api_b).guest("v")) for n in (a, b)}
    talkers = [await clients(n.url, await api_a.guest(f"t{i}")) for i, n in enumerate((a, b, a, b))]
    for c in [*viewers.values(), *talkers]:
        await c.join(room.id)
    stop, errors = asyncio.Event(), []
    chatter = [asyncio.create_task(_chatter(t, stop, errors)) for t in talkers]
    for v in viewers.values():
        await v.wait(v.chat_texts, what="the room busy before the outage")

    redis_server.stop()
    try:
        # /readyz tells the truth while Redis is away
        for n in (a, b):
            _status, body = await eventually(
                lambda n=n: _not_ready(http, n.url), timeout=10, what="not ready during the outage"
            )
            assert body["checks"]["redis"] != "ok"
        # chat during the outage gets a clear error
        await eventually(lambda: "service_unavailable" in errors, timeout=10, what=f"a clear error: {errors}")
    finally:
        await asyncio.to_thread(redis_server.start)
    for n in (a, b):
        await eventually(lambda n=n: _is_ready(http, n.url), timeout=20, what=f"{n.url} ready again")
    for v in viewers.values():
        await v.wait(lambda v=v: v.events["snapshot"], timeout=15, what="a resync snapshot")
    stop.set()
    await asyncio.gather(*chatter)

    # after recovery both viewers see new messages, and a fresh snapshot is the same on both processes
    # (the talker was sending at its rate limit: it may have to wait for its next token)
    ack = await eventually(lambda: _chat_unless_limited(talkers[0], "after the storm"), what="chat after")
    assert ack.get("ok"), ack
    for v in viewers.values():
        await v.wait(lambda v=v: "after the storm" in v.chat_texts(), what="chat after recovery")
    snaps = await eventually(lambda: _snapshots_with(viewers.values(), room.id, ack["id"]), what="archived")
    assert [m["id"] for m in snaps[0]["recent_chat"]] == [m["id"] for m in snaps[1]["recent_chat"]]
    assert snaps[0]["recent_chat"][-1]["text"] == "after the storm"
    assert snaps[0]["offers"] == snaps[1]["offers"]
    assert snaps[0]["offers"][0]["id"] == offer["id"] and snaps[0]["offers"][0]["available"] == 50


async def _chat_unless_limited(client: RoomClient, text: str) -> dict | None:
    ack = await client.call("chat", {"text": text})
    return None if ack.get("error", {}).get("code") == "rate_limited" else ack


async def _snapshots_with(viewers, broadcast_id: str, message_id: str) -> list[dict] | None:  # type: ignore[no-untyped-def]
    """Fresh join snapshots, once both processes' recent chat holds the message."""
    snaps = [await v.join(broadcast_id) for v in viewers]
    return snaps if all(any(m["id"] == message_id for m in s["recent_chat"]) for s in snaps) else None


async def _not_ready(http: aiohttp.ClientSession, url: str):  # type: ignore[no-untyped-def]
    status, body = await _ready(http, url)
    return (status, body) if status == 503 else None


async def _is_ready(http: aiohttp.ClientSession, url: str) -> bool:
    return (await _ready(http, url))[0] == 200


async def test_a_silently_dead_subscription_fails_readiness_then_resubscribes(
    node: tuple[web.Application, TestServer],
    api: Api,
    clients: Clients,
    node_url: str,
    http: aiohttp.ClientSession,
) -> None:
    app, _ = node
    manager = app[LIVE_ROOM].sio.manager
    await eventually(lambda: _is_ready(http, node_url), what="ready")
    before = manager.resubscriptions
    # the connection stays open and the listener keeps running, but it no longer hears the channel
    await manager.pubsub.subscribe("liveshop:test:elsewhere")
    await manager.pubsub.unsubscribe(manager.channel)
    seen_down = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, body = await _ready(http, node_url)
        if status == 503 and body["checks"]["room_channel"] != "ok":
            seen_down = body
        elif status == 200 and seen_down is not None:
            break
        await asyncio.sleep(0.1)
    assert seen_down is not None, "readiness never noticed the silent subscription"
    assert manager.resubscriptions > before
    room = await make_room(app, api)
    viewer = await clients(node_url, await api.guest("after"))
    await viewer.join(room.id)
    ack = await viewer.call("chat", {"text": "heard again"})
    assert ack.get("ok") is True, ack
    await viewer.wait(lambda: "heard again" in viewer.chat_texts())


async def test_a_publish_that_reconnects_leaves_the_listeners_subscription_alone(
    node: tuple[web.Application, TestServer], api: Api, clients: Clients, node_url: str
) -> None:
    """A publish that finds the client disconnected makes a new one; the listener keeps reading its
    own subscription (a shared one, swapped under it, meant two readers on one connection)."""
    app, _ = node
    manager = app[LIVE_ROOM].sio.manager
    listening = manager.pubsub
    manager.connected = False  # as after a failed publish
    assert await manager._publish({"method": "noop"})
    assert manager.pubsub is listening
    room = await make_room(app, api)
    viewer = await clients(node_url, await api.guest("still-heard"))
    await viewer.join(room.id)
    assert (await viewer.call("chat", {"text": "after the reconnect"})).get("ok") is True
    await viewer.wait(lambda: "after the reconnect" in viewer.chat_texts())
