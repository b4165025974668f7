"""Auction events reach the room (server/live/__init__.py turns commerce's `auction` event into a room
message): a real socket.io viewer sees the start, each bid, an anti-snipe extension and the end, each
carrying the auction as GET shows it."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.commerce.auctions import end_auction
from tests.api_client import Api
from tests.live.conftest import Clients, Room


async def test_a_viewer_sees_start_bids_extension_and_end(
    node: tuple[web.Application, TestServer], api: Api, room: Room, clients: Clients, node_url: str
) -> None:
    ada = await api.guest("Ada")
    viewer = await clients(node_url, ada)
    await viewer.join(room.id)
    body = {
        "product_id": room.product["id"],
        "starting_bid": 500,
        "increment": 50,
        "duration_s": 600,
        "anti_snipe_s": 30,
    }
    started = await api.call("POST", f"/api/v1/broadcasts/{room.id}/auctions", token=room.host, json=body)
    assert started.status == 201, started.body
    aid = started.body["id"]
    path = f"/api/v1/auctions/{aid}/bids"
    bid = await api.call("POST", path, token=ada, json={"amount": 500}, headers={"Idempotency-Key": "k1"})
    assert bid.status == 201

    def kinds() -> list[str]:
        return [e["type"] for e in viewer.events["auction"] if e["auction"]["id"] == aid]

    await viewer.wait(lambda: kinds() == ["started", "bid"], what="started and bid")
    first_bid = viewer.events["auction"][-1]["auction"]
    assert first_bid == (await api.call("GET", f"/api/v1/auctions/{aid}")).body
    assert first_bid["high_bid"] == 500 and first_bid["high_bidder"]["nickname"] == "Ada"

    # a short auction: its first bid lands inside the anti-snipe window and extends it
    short = await api.call(
        "POST", f"/api/v1/broadcasts/{room.id}/auctions", token=room.host, json={**body, "duration_s": 5}
    )
    sid = short.body["id"]
    key = uuid.uuid4().hex
    ext = await api.call(
        "POST",
        f"/api/v1/auctions/{sid}/bids",
        token=ada,
        json={"amount": 500},
        headers={"Idempotency-Key": key},
    )
    assert ext.status == 201

    def short_kinds() -> list[str]:
        return [e["type"] for e in viewer.events["auction"] if e["auction"]["id"] == sid]

    await viewer.wait(lambda: short_kinds() == ["started", "extended"], what="extended")
    assert ext.body["auction"]["ends_at"] > short.body["ends_at"]

    ended = await end_auction(node[0], aid, force=True)
    assert ended is not None
    await viewer.wait(lambda: kinds() == ["started", "bid", "ended"], what="ended")
    last = viewer.events["auction"][-1]["auction"]
    assert last["status"] == "ended" and last["winner"]["user_id"] == first_bid["high_bidder"]["id"]
    assert last["winner"]["reservation_id"]


async def test_the_outbid_viewer_alone_hears_it(
    api: Api, room: Room, clients: Clients, node_url: str
) -> None:
    ada, bob = await api.guest("Ada"), await api.guest("Bob")
    ada_viewer, bob_viewer = await clients(node_url, ada), await clients(node_url, bob)
    await ada_viewer.join(room.id)
    await bob_viewer.join(room.id)
    body = {"product_id": room.product["id"], "starting_bid": 500, "increment": 50, "duration_s": 600}
    started = await api.call("POST", f"/api/v1/broadcasts/{room.id}/auctions", token=room.host, json=body)
    path = f"/api/v1/auctions/{started.body['id']}/bids"
    assert (await api.call("POST", path, token=ada, json={"amount": 500})).status == 201
    assert (await api.call("POST", path, token=bob, json={"amount": 550})).status == 201
    notice = await ada_viewer.wait(lambda: ada_viewer.events["outbid"], what="outbid")
    assert (
        notice[0]["auction"]["high_bid"] == 550 and notice[0]["auction"]["high_bidder"]["nickname"] == "Bob"
    )
    await bob_viewer.wait(
        lambda: [e for e in bob_viewer.events["auction"] if e["auction"]["high_bid"] == 550], what="bob's bid"
    )
    assert bob_viewer.events["outbid"] == []  # the first bid outbid nobody; Bob's own bid is no notice
