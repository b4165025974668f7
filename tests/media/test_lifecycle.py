"""The host leaves and returns, the broadcast ends: what viewers and the room see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loadtests.media_clients import Publisher, Viewer
from server.api.context import EVENTS
from server.events import MEDIA_STATE, Event
from server.media import HUB
from tests.api_client import Api

pytestmark = pytest.mark.media


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


def media_states(app: web.Application, broadcast_id: str) -> list[str]:
    seen: list[str] = []

    def on_state(event: Event) -> None:
        if event.data["broadcast_id"] == broadcast_id:
            seen.append(event.data["state"])

    app[EVENTS].subscribe(MEDIA_STATE, on_state)
    return seen


async def test_host_dropping_shows_reconnecting_and_viewers_resume_when_the_host_returns(
    node: tuple[web.Application, TestServer],
    http: aiohttp.ClientSession,
    base: str,
    api: Api,
    broadcast: dict[str, Any],
) -> None:
    app = node[0]
    states = media_states(app, broadcast["id"])
    first = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
    viewer = Viewer(http, base, broadcast["id"])
    second: Publisher | None = None
    try:
        await first.start()
        await viewer.start()
        await viewer.wait_frames(15, within=15)
        await first.stop(delete=False)  # the encoder vanishes without a DELETE
        await until(lambda: "reconnecting" in states)
        reply = await api.call("GET", f"/api/v1/media/{broadcast['id']}")
        assert reply.body["state"] == "reconnecting"
        assert reply.body["viewers"] == 1
        await asyncio.sleep(0.3)
        stalled = viewer.frames

        second = Publisher(http, base, broadcast["id"], broadcast["stream_key"], width=320, height=180)
        assert (await second.start()).status == 201
        await viewer.wait_frames(15, within=10)
        assert viewer.frames > stalled
        assert (320, 180) in viewer.sizes
        assert states[-1] == "publishing"
        assert states.count("publishing") == 2
    finally:
        await viewer.stop()
        if second is not None:
            await second.stop()


async def test_ending_the_broadcast_closes_every_viewer_and_refuses_new_sessions(
    node: tuple[web.Application, TestServer],
    http: aiohttp.ClientSession,
    base: str,
    api: Api,
    host: str,
) -> None:
    broadcast = await api.broadcast(host, "Ends")
    app = node[0]
    states = media_states(app, broadcast["id"])
    publisher = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
    viewers = [Viewer(http, base, broadcast["id"]) for _ in range(2)]
    try:
        await publisher.start()
        for viewer in viewers:
            await viewer.start()
        await asyncio.gather(*(v.wait_frames(5, within=15) for v in viewers))
        reply = await api.call("POST", f"/api/v1/broadcasts/{broadcast['id']}/end", token=host)
        assert reply.status == 200, reply.body
        await until(lambda: all(v.pc.connectionState == "closed" for v in viewers))
        assert not [s for s in app[HUB].sessions.values() if s.broadcast_id == broadcast["id"]]
        assert states[-1] == "stopped"
        late = Viewer(http, base, broadcast["id"])
        assert (await late.start()).status == 409
        await late.stop(delete=False)
        again = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
        assert (await again.start()).status == 409
        await again.stop(delete=False)
    finally:
        for viewer in viewers:
            await viewer.stop(delete=False)
        await publisher.stop(delete=False)


async def test_a_host_who_does_not_return_within_the_grace_period_is_reported_stopped(
    node: tuple[web.Application, TestServer],
    http: aiohttp.ClientSession,
    base: str,
    broadcast: dict[str, Any],
) -> None:
    app = node[0]
    hub = app[HUB]
    states = media_states(app, broadcast["id"])
    original = hub.settings
    hub.settings = original.model_copy(update={"reconnect_grace_s": 1.0})
    publisher = Publisher(http, base, broadcast["id"], broadcast["stream_key"])
    viewer = Viewer(http, base, broadcast["id"])
    try:
        await publisher.start()
        await viewer.start()
        await viewer.wait_frames(5, within=15)
        await publisher.stop(delete=False)
        await until(lambda: states[-1:] == ["stopped"], within=10)
        assert states[-2:] == ["reconnecting", "stopped"]
        assert viewer.pc.connectionState == "connected"  # still there for when the host comes back
    finally:
        hub.settings = original
        await viewer.stop()
