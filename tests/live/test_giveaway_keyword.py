"""Giveaways in the live room on one real node (real Redis, PostgreSQL, socket.io clients): a chat
message that is exactly the keyword enters its sender once, a sentence holding it is chat; the room
sees started, closed (with the hash) and drawn (with the winner's nickname); the winner alone is told."""

from __future__ import annotations

from typing import Any

import pytest

from server.commerce.giveaways.keyword import matches
from tests.api_client import Api
from tests.live.conftest import Clients, Room, RoomClient

EXTRA = ("giveaway", "giveaway_entry", "giveaway_won")


@pytest.mark.parametrize(
    ("text", "entered"),
    [
        ("win", True),
        ("WIN", True),
        ("  Win!  ", True),
        ("win.", True),
        ("I want to win", False),
        ("win win", False),
        ("winner", False),
        ("", False),
    ],
)
def test_only_a_message_that_is_the_keyword_enters(text: str, entered: bool) -> None:
    assert matches(text, "win") is entered


async def _viewer(clients: Clients, api: Api, url: str, room: Room, nickname: str) -> RoomClient:
    made = await clients(url, await api.guest(nickname))
    for name in EXTRA:
        made.sio.on(name, made._recorder(name), namespace="/live")
    await made.join(room.id)
    return made


async def test_the_chat_keyword_enters_once_and_the_room_follows_the_draw(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    ada = await _viewer(clients, api, node_url, room, "Ada")
    bob = await _viewer(clients, api, node_url, room, "Bob")
    started = await api.call(
        "POST",
        f"/api/v1/broadcasts/{room.id}/giveaways",
        token=room.host,
        json={"product_id": room.product["id"], "keyword": "WIN"},
    )
    assert started.status == 201, started.body
    gid = started.body["id"]
    assert started.body["keyword"] == "win"
    await ada.wait(lambda: any(e["type"] == "started" for e in ada.events["giveaway"]), what="started")

    def sent(client: RoomClient, text: str) -> Any:
        return client.call("chat", {"text": text})

    assert (await sent(bob, "I want to win this"))["ok"]  # a sentence is chat, not an entry
    assert (await sent(ada, "win"))["ok"]
    entry = await ada.wait(lambda: ada.events["giveaway_entry"], what="ada's entry")
    assert entry[0]["giveaway_id"] == gid and entry[0]["new"] is True
    assert (await sent(ada, "WIN!"))["ok"]  # again: the same entry, not a second one
    await ada.wait(lambda: len(ada.events["giveaway_entry"]) == 2, what="ada's repeat")
    assert ada.events["giveaway_entry"][1]["new"] is False
    assert ada.events["giveaway_entry"][1]["entry"] == entry[0]["entry"]
    assert "I want to win this" in await bob.wait(lambda: bob.chat_texts(), what="bob's chat")
    assert not bob.events["giveaway_entry"]
    count = (await api.call("GET", f"/api/v1/giveaways/{gid}")).body["entrant_count"]
    assert count == 1
    await ada.wait(
        lambda: any(
            e["type"] == "entries" and e["giveaway"]["entrant_count"] == 1 for e in ada.events["giveaway"]
        ),
        what="the live count",
    )

    closed = await api.call("POST", f"/api/v1/giveaways/{gid}/close", token=room.host)
    assert closed.status == 200
    seen = await bob.wait(lambda: [e for e in bob.events["giveaway"] if e["type"] == "closed"], what="closed")
    assert seen[0]["giveaway"]["entrants_hash"] == closed.body["entrants_hash"]
    assert seen[0]["giveaway"]["seed"] is None
    assert (await sent(bob, "win"))["ok"]  # too late: once closed the keyword is plain chat

    drawn = await api.call("POST", f"/api/v1/giveaways/{gid}/draw", token=room.host)
    assert drawn.status == 200 and drawn.body["winner"]["nickname"] == "Ada"
    told = await bob.wait(lambda: [e for e in bob.events["giveaway"] if e["type"] == "drawn"], what="drawn")
    assert told[0]["giveaway"]["winner"]["nickname"] == "Ada" and told[0]["giveaway"]["seed"]
    won = await ada.wait(lambda: ada.events["giveaway_won"], what="ada's notice")
    assert won[0]["order_id"] == drawn.body["winner"]["order_id"]
    assert not bob.events["giveaway_won"]
    assert [e["nickname"] for e in drawn.body["entrants"]] == ["Ada"]
    assert not bob.events["giveaway_entry"] and not bob.events["error"]
