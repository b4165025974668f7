"""The room with several pins and live coupons: `pinned` carries v1's `product` (the most recent pin)
and `pins`; the join snapshot both; a buy keyword claims the most recent pin that has an active offer;
`coupon` announces a code and its end."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.events import COUPON, Event
from server.live.feed import Feed
from tests.api_client import Api
from tests.commerce.coupons import checkout, coupon, hold
from tests.commerce.coupons import viewer as viewer_token
from tests.live.conftest import Clients, Room
from tests.live.test_comment_to_buy import chat, viewer


async def _pin(api: Api, room: Room, product_id: str) -> dict[str, Any]:
    r = await api.call(
        "PUT", f"/api/v1/broadcasts/{room.id}/pin", token=room.host, json={"product_id": product_id}
    )
    assert r.status == 200, r.body
    return dict(r.body)


async def test_pinned_events_and_the_snapshot_carry_every_pin_and_the_most_recent(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    other = await api.product(room.host)
    ada = await viewer(clients, api, node_url, room, "ada")
    await _pin(api, room, room.product["id"])
    await _pin(api, room, other["id"])
    await ada.wait(lambda: len(ada.events["pinned"]) == 2, what="two pinned events")
    last = ada.events["pinned"][-1]
    assert last["product"]["id"] == other["id"]
    assert [p["id"] for p in last["pins"]] == [other["id"], room.product["id"]]
    assert last["change"] == {"action": "pin", "product_id": other["id"]}
    late = await clients(node_url, await api.guest("late"))
    snap = await late.join(room.id)
    assert snap["pinned"]["id"] == other["id"]
    assert [p["id"] for p in snap["pins"]] == [other["id"], room.product["id"]]
    r = await api.call("DELETE", f"/api/v1/broadcasts/{room.id}/pins/{other['id']}", token=room.host)
    assert r.status == 200
    await ada.wait(lambda: len(ada.events["pinned"]) == 3, what="the unpin")
    assert ada.events["pinned"][-1]["product"]["id"] == room.product["id"]
    assert [p["id"] for p in ada.events["pinned"][-1]["pins"]] == [room.product["id"]]


async def test_a_keyword_claims_the_most_recent_pin_that_has_an_active_offer(
    room: Room, api: Api, clients: Clients, node_url: str
) -> None:
    on_sale = await api.offer(room.host, room.id, room.product["id"], 10, per_buyer_limit=5)
    newer = await api.product(room.host)
    await _pin(api, room, room.product["id"])
    await _pin(api, room, newer["id"])  # the most recent pin, but nothing of it is on offer yet
    ada = await viewer(clients, api, node_url, room, "ada")
    await chat(ada, "buy")
    await ada.wait(lambda: ada.events["reservation"], what="a hold of the pin that is on sale")
    assert ada.events["reservation"][0]["offer_id"] == on_sale["id"]
    newer_offer = await api.offer(room.host, room.id, newer["id"], 10, per_buyer_limit=5)
    await ada.wait(
        lambda: any(o.get("id") == newer_offer["id"] for o in ada.events["offer"]), what="the new offer"
    )
    await chat(ada, "buy 2")
    await ada.wait(lambda: len(ada.events["reservation"]) == 2, what="a hold of the most recent pin")
    second = ada.events["reservation"][1]
    assert (second["offer_id"], second["quantity"]) == (newer_offer["id"], 2)
    r = await api.call("DELETE", f"/api/v1/broadcasts/{room.id}/pins/{newer['id']}", token=room.host)
    assert r.status == 200
    await chat(ada, "sold")
    await ada.wait(lambda: len(ada.events["reservation"]) == 3, what="back to the remaining pin")
    assert ada.events["reservation"][2]["offer_id"] == on_sale["id"]


async def test_a_coupon_is_announced_in_the_room_with_its_uses_left_and_its_end(
    room: Room, api: Api, clients: Clients, node_url: str, node: tuple[web.Application, TestServer]
) -> None:
    ada = await viewer(clients, api, node_url, room, "ada")
    c = await coupon(api, room.host, room.id, code="ROOM20", percent_off=20, max_uses=50)
    await ada.wait(lambda: ada.events["coupon"], what="the announcement")
    told = ada.events["coupon"][0]
    assert told["type"] == "announced"
    assert {
        k: told["coupon"][k] for k in ("code", "percent_off", "amount_off", "expires_at", "uses_left")
    } == {
        "code": "ROOM20",
        "percent_off": 20,
        "amount_off": None,
        "expires_at": c["expires_at"],
        "uses_left": 50,
    }
    late = await clients(node_url, await api.guest("late"))
    assert [x["code"] for x in (await late.join(room.id))["coupons"]] == ["ROOM20"]
    # a burst of redemptions reaches the room as a few "used" updates, the last one true
    offer = await api.offer(room.host, room.id, room.product["id"], 10, per_buyer_limit=1)
    buyers = [viewer_token(node[0]) for _ in range(5)]
    holds = [await hold(api, t, offer["id"]) for t in buyers]
    done = await asyncio.gather(*(checkout(api, t, h, "room20") for t, h in zip(buyers, holds, strict=True)))
    assert all(d.status == 201 and d.body["discount"] > 0 for d in done)
    used = lambda: [e for e in ada.events["coupon"] if e["type"] == "used"]  # noqa: E731
    await ada.wait(lambda: used() and used()[-1]["coupon"]["uses_left"] == 45, what="uses left 45")
    assert used()[-1]["coupon"]["code"] == "ROOM20"
    r = await api.call("DELETE", f"/api/v1/broadcasts/{room.id}/coupons/ROOM20", token=room.host)
    assert r.status == 200
    await ada.wait(lambda: ada.events["coupon"][-1]["type"] == "ended", what="the end")
    assert ada.events["coupon"][-1]["coupon"]["uses_left"] == 0


async def test_uses_left_updates_are_coalesced_to_one_per_interval_always_the_latest() -> None:
    sent: list[tuple[str, Any, str]] = []

    async def emit(name: str, data: Any, room: str) -> None:
        sent.append((name, data, room))

    feed = Feed(None, None, emit, lambda: None, interval_s=1.0)  # type: ignore[arg-type]
    for left in range(20, 10, -1):
        coupon = {"id": "cp_1", "code": "X", "uses_left": left}
        await feed.on_coupon(Event(COUPON, {"type": "used", "coupon": coupon, "broadcast_id": "bc_1"}, "n"))
    await asyncio.sleep(0.1)
    assert [d["coupon"]["uses_left"] for _, d, _ in sent] == [11]  # the first burst: one, the latest
    for left in (10, 9):
        coupon = {"id": "cp_1", "code": "X", "uses_left": left}
        await feed.on_coupon(Event(COUPON, {"type": "used", "coupon": coupon, "broadcast_id": "bc_1"}, "n"))
    await asyncio.sleep(0.05)
    assert len(sent) == 1  # within the interval of the last one: waits
    await asyncio.sleep(1.2)
    assert [d["coupon"]["uses_left"] for _, d, _ in sent] == [11, 9]
    ended = {"id": "cp_1", "code": "X", "uses_left": 0}
    await feed.on_coupon(Event(COUPON, {"type": "ended", "coupon": ended, "broadcast_id": "bc_1"}, "n"))
    assert sent[-1] == ("coupon", {"type": "ended", "coupon": ended}, "bc_1")  # at once
