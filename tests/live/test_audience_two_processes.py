"""Viewers on two `serve` processes add up in the sale report, whichever process answers it."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.api_client import Api
from tests.live.conftest import Clients, make_room
from tests.services import ServerProcess


async def test_viewers_on_two_processes_add_up_in_the_report(
    node: tuple[web.Application, TestServer],
    two_nodes: tuple[ServerProcess, ServerProcess],
    two_apis: tuple[Api, Api],
    clients: Clients,
) -> None:
    a, b = two_nodes
    api_a, api_b = two_apis
    room = await make_room(node[0], api_a)
    on_a = [await clients(a.url, await api_a.guest(f"a{i}")) for i in range(2)]
    on_b = await clients(b.url, await api_b.guest("b0"))
    for c in (*on_a, on_b):
        await c.join(room.id)
    assert (await on_b.call("chat", {"text": "from the other process"})).get("ok")
    for api in (api_a, api_b):
        r = await api.call("GET", f"/api/v1/broadcasts/{room.id}/report", token=room.host)
        assert r.status == 200, r.body
        audience = r.body["audience"]
        assert (audience["peak_viewers"], audience["unique_viewers"], audience["viewers_now"]) == (3, 3, 3)
        assert (audience["chat_messages"], audience["unique_chatters"]) == (1, 1)
