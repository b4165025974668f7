"""Ending the show (POST /api/v1/broadcasts/{id}/end) ends what still runs in it, and keeps what a viewer
already won: the running auction ends at its high bid, an open giveaway stops taking entries (the host
still draws), flash offers end with their units back on the shelf, and every auction winner's hold
runs on, so the winner pays after the show as they could have during it."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.api_client import Api
from tests.conftest import new_host

Node = tuple[web.Application, TestServer]


async def _post(api: Api, token: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await api.call("POST", path, token=token, json=body)
    assert r.status in (200, 201), (path, r.status, r.body)
    return dict(r.body)


async def _get(api: Api, path: str, token: str | None = None) -> dict[str, Any]:
    r = await api.call("GET", path, token=token)
    assert r.status == 200, (path, r.body)
    return dict(r.body)


async def _auction(api: Api, host: str, broadcast_id: str, product_id: str) -> str:
    body = {"product_id": product_id, "starting_bid": 1000, "increment": 100, "duration_s": 600}
    return str((await _post(api, host, f"/api/v1/broadcasts/{broadcast_id}/auctions", body))["id"])


async def _bid(api: Api, token: str, auction_id: str, amount: int) -> None:
    r = await api.call(
        "POST",
        f"/api/v1/auctions/{auction_id}/bids",
        token=token,
        json={"amount": amount},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status == 201, r.body


async def test_the_end_of_the_show_ends_what_runs_and_keeps_what_viewers_won(node: Node, api: Api) -> None:
    host = await new_host(node[0], api)
    product = await api.product(host, stock=6, price=2500)
    broadcast = await api.broadcast(host)
    bid_on = broadcast["id"]
    await _post(api, host, f"/api/v1/broadcasts/{bid_on}/start")
    ada, bob, cy, di = [await api.guest(n) for n in ("Ada", "Bob", "Cy", "Di")]

    offer = await api.offer(host, bid_on, product["id"], quantity=2, per_buyer_limit=2)
    held = await api.reserve(di, offer["id"], 1, key=uuid.uuid4().hex)  # Di never checks out
    assert held.status == 201
    stopped = await _auction(api, host, bid_on, product["id"])  # won before the end
    await _bid(api, cy, stopped, 1000)
    await _post(api, host, f"/api/v1/auctions/{stopped}/end")
    running = await _auction(api, host, bid_on, product["id"])  # still taking bids at the end
    await _bid(api, ada, running, 1000)
    await _bid(api, cy, running, 1100)
    await _bid(api, ada, running, 1200)
    giveaway = await _post(api, host, f"/api/v1/broadcasts/{bid_on}/giveaways", {"product_id": product["id"]})
    gid = giveaway["id"]
    assert (await api.call("POST", f"/api/v1/giveaways/{gid}/entries", token=bob)).status == 201
    assert (await _get(api, f"/api/v1/products/{product['id']}", host))["stock"] == 1  # 2 + 1 + 1 + 1 out

    ended = await _post(api, host, f"/api/v1/broadcasts/{bid_on}/end")
    assert ended["status"] == "ended"

    won = await _get(api, f"/api/v1/auctions/{running}")
    assert won["status"] == "ended" and (won["winner"]["amount"], won["winner"]["second_chance"]) == (
        1200,
        False,
    )
    assert (await _bid_refused(api, cy, running)) == (410, "auction_ended")
    closed = await _get(api, f"/api/v1/giveaways/{gid}")
    assert (closed["status"], closed["entrant_count"]) == ("closed", 1) and len(closed["entrants_hash"]) == 64
    late = await api.call("POST", f"/api/v1/giveaways/{gid}/entries", token=cy)
    assert late.status == 409
    assert (await _get(api, f"/api/v1/offers/{offer['id']}"))["status"] == "ended"
    assert (await api.checkout(di, held.body["id"])).status in (404, 409, 410)  # the flash hold is gone

    # what viewers won stays theirs after the show: both winners pay, the host draws the giveaway
    earlier = await _get(api, f"/api/v1/auctions/{stopped}")
    for token, auction, total in ((cy, earlier, 1000), (ada, won, 1200)):
        order = await api.checkout(token, auction["winner"]["reservation_id"], key=uuid.uuid4().hex)
        assert order.status == 201 and order.body["total"] == total, order.body
    drawn = await _post(api, host, f"/api/v1/giveaways/{gid}/draw")
    assert drawn["status"] == "drawn" and drawn["winner"]["user_id"] == (await _me(api, bob))
    # the flash offer's two units (Di's lapsed hold among them) came back; the rest was won
    assert (await _get(api, f"/api/v1/products/{product['id']}", host))["stock"] == 3


async def _bid_refused(api: Api, token: str, auction_id: str) -> tuple[int, str | None]:
    r = await api.call(
        "POST",
        f"/api/v1/auctions/{auction_id}/bids",
        token=token,
        json={"amount": 5000},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    return r.status, r.code


async def _me(api: Api, token: str) -> str:
    return str((await _get(api, "/api/v1/auth/me", token))["user"]["id"])
