"""The audience measure behind the sale report (server/live/audience.py) with real socket.io clients:
who counts once and who counts at all (two processes: test_audience_two_processes.py)."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import REDIS
from server.live import keys
from server.live.audience import viewer_of
from tests.api_client import Api
from tests.live.conftest import Clients, Room, eventually


def test_a_viewer_is_the_pages_key_when_it_sends_a_sound_one_else_the_account() -> None:
    assert viewer_of("us_1", "a" * 24) == "k:" + "a" * 24
    for junk in (None, "", "short", "x" * 65, "bad key!", 42, ["k"]):
        assert viewer_of("us_1", junk) == "u:us_1"


async def test_one_browser_counts_once_the_host_never_and_a_rejoin_is_a_second_session(
    node: tuple[web.Application, TestServer], api: Api, room: Room, clients: Clients, node_url: str
) -> None:
    app = node[0]
    key = uuid.uuid4().hex
    quiet, named = await api.guest("guest-x"), await api.guest("Ada")
    first = await clients(node_url, quiet)
    assert "error" not in await first.call("join", {"broadcast_id": room.id, "viewer_key": key})
    second = await clients(node_url, named)  # the same browser after picking a nickname
    assert "error" not in await second.call("join", {"broadcast_id": room.id, "viewer_key": key})
    await first.close()
    other = await clients(node_url, await api.guest("Bo"))
    await other.join(room.id)
    assert (await other.call("leave")).get("ok")
    await other.join(room.id)  # a second session of the same viewer
    host = await clients(node_url, room.host)
    await host.join(room.id)
    redis = app[REDIS]

    async def settled() -> bool:
        return int(await redis.hget(keys.audience(room.id), "cur") or 0) == 2

    await eventually(settled, what="the first socket's disconnect recorded")
    r = await api.call("GET", f"/api/v1/broadcasts/{room.id}/report", token=room.host)
    assert r.status == 200, r.body
    audience = r.body["audience"]
    assert (audience["unique_viewers"], audience["peak_viewers"], audience["viewers_now"]) == (2, 2, 2)
