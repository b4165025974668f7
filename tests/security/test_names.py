"""Names and badges: nicknames cleaned like chat text, none posing as a shop; the host badge only for
the broadcast's own shop."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.auth import SHOP_NAMES, create_host
from server.api.context import DB
from tests.api_client import Api
from tests.conftest import new_host
from tests.live.conftest import RoomClient


async def _guest(api: Api, nickname: str) -> tuple[int, dict]:
    reply = await api.call("POST", "/api/v1/auth/guest", json={"nickname": nickname})
    return reply.status, reply.body


async def test_nicknames_lose_invisible_marks_and_may_not_pose_as_a_shop(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, _ = node
    brand = f"Moonlight {uuid.uuid4().hex[:6]}"
    await create_host(app[DB], f"{uuid.uuid4().hex[:8]}@example.com", "host-password-1", shop_name=brand)
    app[SHOP_NAMES].forget()
    twins = [
        brand + "\u202e",  # a bidi override after the name
        brand.replace("o", "\u043e"),  # Cyrillic o
        brand.replace("o", "0"),
        "\u200b".join(brand),  # zero-width spaces between the letters
        f"{brand} official",
    ]
    for twin in twins:
        status, body = await _guest(api, twin)
        assert status == 422 and body["field"] == "nickname", (twin, body)
    status, body = await _guest(api, "ab\u202ecd\u200b")
    assert status == 201 and body["user"]["nickname"] == "ab cd"
    status, body = await _guest(api, "\u200b\u2066\u200f")
    assert status == 422


async def test_the_host_badge_is_only_for_the_broadcasts_own_shop(
    node: tuple[web.Application, TestServer], api: Api
) -> None:
    app, server = node
    base = str(server.make_url("")).rstrip("/")
    owner, stranger = await new_host(app, api), await new_host(app, api)
    broadcast = await api.broadcast(owner)
    assert (await api.call("POST", f"/api/v1/broadcasts/{broadcast['id']}/start", token=owner)).status == 200
    clients = [RoomClient(base, owner), RoomClient(base, stranger)]
    try:
        for c in clients:
            await c.connect()
            await c.join(broadcast["id"])
        assert (await clients[1].call("chat", {"text": "official deal here"}))["ok"]
        assert (await clients[0].call("chat", {"text": "welcome"}))["ok"]
        await clients[0].wait(lambda: {"official deal here", "welcome"} <= set(clients[0].chat_texts()))
        messages = {m["text"]: m for batch in clients[0].events["chat"] for m in batch}
    finally:
        for c in clients:
            await c.close()
    assert "badge" not in messages["official deal here"]
    assert messages["official deal here"]["user"]["role"] == "viewer"
    assert messages["welcome"]["badge"] == "host"
