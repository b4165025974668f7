"""The sale report against what the test did: real socket.io viewers joining and leaving at set times
(the node's clock stands still unless the test moves it), chat, holds (one runs out), Stripe payments,
viewers from tiktok, instagram and nowhere; every number of the report checked, the CSV too."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.context import REDIS
from server.app import build_app
from server.commerce.sweeper import sweep_once
from server.config import Settings
from server.live import keys
from server.payments import PAYMENTS_STATE
from server.payments.sandbox import Running, serve
from server.payments.sandbox import stripe as stripe_box
from tests.api_client import Api, Reply
from tests.conftest import new_host
from tests.live.conftest import RoomClient, eventually
from tests.payments.conftest import payment_settings, sandbox_pay, settle

BUCKET_S = 10


class StillClock:
    """Wall time stands still at a bucket boundary until `advance` (so every duration is exact);
    monotonic time flows (the node's timers and caches keep working) and jumps with it."""

    def __init__(self) -> None:
        self.now = (int(time.time()) // BUCKET_S + 1) * BUCKET_S
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds
        self.offset += seconds

    def time(self) -> float:
        return float(self.now)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


class Node:
    def __init__(self, app: web.Application, server: TestServer, api: Api, clock: StillClock) -> None:
        self.app, self.server, self.api, self.clock = app, server, api, clock
        self.url = str(server.make_url("")).rstrip("/")


@pytest.fixture
async def stripe_sandbox() -> AsyncIterator[Running]:
    box = await serve(stripe_box.make_app())
    yield box
    await box.close()


@pytest.fixture
async def node(
    settings: Settings, stripe_sandbox: Running, http: aiohttp.ClientSession
) -> AsyncIterator[Node]:
    clock = StillClock()
    app = build_app(settings, background=False, clock=clock)
    app[PAYMENTS_STATE].configure(payment_settings(stripe_box.env(stripe_sandbox.url)))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    made = Node(app, server, Api(http, ""), clock)
    made.api.base = made.url
    hooks = stripe_sandbox.app[stripe_box.STRIPE].hooks
    hooks.url, hooks.mode, hooks.held = made.url + "/api/v1/webhooks/stripe", "deliver", []
    yield made
    await server.close()


def came_from(source: str | None) -> dict[str, str]:
    return {"Liveshop-Attribution": f"utm_source={source}&utm_campaign=spring"} if source else {}


async def reserve(node: Node, token: str, offer_id: str, source: str | None) -> str:
    r = await node.api.call(
        "POST",
        f"/api/v1/offers/{offer_id}/reservations",
        token=token,
        json={"quantity": 1},
        headers={"Idempotency-Key": uuid.uuid4().hex, **came_from(source)},
    )
    assert r.status == 201, r.body
    return str(r.body["id"])


async def checkout(node: Node, token: str, hold: str, source: str | None) -> dict[str, Any]:
    r = await node.api.call(
        "POST",
        "/api/v1/orders",
        token=token,
        headers={"Idempotency-Key": uuid.uuid4().hex, **came_from(source)},
        json={
            "reservation_id": hold,
            "buyer": {"name": "Buyer", "email": "buyer@example.com", "address": "1 Test Street"},
        },
    )
    assert r.status == 201, r.body
    assert r.body["status"] == "pending_payment"
    return dict(r.body)


async def report(node: Node, host: str, bid: str, query: str = "", accept: str | None = None) -> Reply:
    headers = {"Accept": accept} if accept else None
    return await node.api.call("GET", f"/api/v1/broadcasts/{bid}/report{query}", token=host, headers=headers)


async def test_the_report_adds_up_to_what_viewers_did(
    node: Node, stripe_sandbox: Running, http: aiohttp.ClientSession
) -> None:
    api, clock = node.api, node.clock
    host = await new_host(node.app, api)
    p1 = await api.product(host, stock=10, price=1000)
    p2 = await api.product(host, stock=10, price=2500)
    b = await api.broadcast(host, "Spring drop")
    r = await api.call("POST", f"/api/v1/broadcasts/{b['id']}/start", token=host)
    assert r.status == 200, r.body
    t0 = clock.now
    offer_a = await api.offer(host, b["id"], p1["id"], 3, price=1000)
    offer_b = await api.offer(host, b["id"], p2["id"], 5, price=2500)

    tokens = [await api.guest(f"viewer{i}") for i in range(1, 7)]
    viewers = [await RoomClient(node.url, t).connect() for t in tokens]
    v1, v2, v3, v4, v5, v6 = viewers
    t1, _, t3, t4, t5, t6 = tokens
    attribution = {
        v1: {"utm_source": "tiktok", "utm_campaign": "spring"},
        v2: {"utm_source": "TikTok", "utm_medium": "social"},
        v3: {"utm_source": "instagram"},
    }
    aud = keys.audience(b["id"])

    async def viewers_now() -> int:
        return int(await node.app[REDIS].hget(aud, "cur") or 0)

    async def join(*clients: RoomClient) -> None:
        for c in clients:
            snap = await c.call("join", {"broadcast_id": b["id"], "attribution": attribution.get(c)})
            assert "error" not in snap, snap

    try:
        # t=0: three viewers; t=10: two more; t=20: the sixth, and chat
        await join(v1, v2, v3)
        clock.advance(10)
        await join(v4, v5)
        clock.advance(10)
        await join(v6)
        for c, text in ((v1, "hello"), (v1, "love it"), (v3, "size?"), (v6, "wow")):
            ack = await c.call("chat", {"text": text})
            assert ack.get("ok"), ack
        host_room = await RoomClient(node.url, host).connect()
        await host_room.join(b["id"])
        assert (await host_room.call("chat", {"text": "welcome all"})).get("ok")
        await host_room.close()
        # t=30: v2 leaves the room; t=35 v5 reserves B and checks out, t=40: v5 disconnects
        clock.advance(10)
        assert (await v2.call("leave")).get("ok")
        clock.advance(5)
        hold_v5 = await reserve(node, t5, offer_b["id"], None)
        order_v5 = await checkout(node, t5, hold_v5, None)
        clock.advance(5)
        await v5.close()
        await eventually(lambda: _eq(viewers_now(), 4), what="v5's disconnect recorded")
        # t=40: A sells out (v1 tiktok, v3 instagram, v4 direct); v6 and v1 reserve B; v6 gives it back
        hold_v1a = await reserve(node, t1, offer_a["id"], "tiktok")
        hold_v3a = await reserve(node, t3, offer_a["id"], "instagram")
        await reserve(node, t4, offer_a["id"], None)  # never checked out: runs out at t=160
        hold_v6b = await reserve(node, t6, offer_b["id"], None)
        hold_v1b = await reserve(node, t1, offer_b["id"], "tiktok")
        r = await api.call("DELETE", f"/api/v1/reservations/{hold_v6b}", token=t6)
        assert r.status == 204
        # t=50: checkouts; A's two orders are paid, v1's B order is left unpaid (as is v5's)
        clock.advance(10)
        paid = []
        for token, hold, source in ((t1, hold_v1a, "tiktok"), (t3, hold_v3a, "instagram")):
            order = await checkout(node, token, hold, source)
            status, _ = await sandbox_pay(
                http, stripe_sandbox, order["payment"]["client_secret"], "4242 4242 4242 4242"
            )
            assert status == 200
            paid.append(order["id"])
        unpaid = await checkout(node, t1, hold_v1b, "tiktok")
        await settle(http, stripe_sandbox)
        for order_id, token, want in (
            (paid[0], t1, "paid"),
            (paid[1], t3, "paid"),
            (unpaid["id"], t1, "pending_payment"),
            (order_v5["id"], t5, "pending_payment"),
        ):
            r = await api.call("GET", f"/api/v1/orders/{order_id}", token=token)
            assert r.body["status"] == want, r.body
        desk = await api.call(
            "GET", f"/api/v1/orders?broadcast_id={b['id']}", token=host, headers={"Accept": "text/csv"}
        )
        by_order = {row["id"]: row["source"] for row in csv.DictReader(io.StringIO(desk.body))}
        assert by_order == {
            paid[0]: "tiktok", paid[1]: "instagram", unpaid["id"]: "tiktok", order_v5["id"]: "direct"
        }  # fmt: skip

        live = (await report(node, host, b["id"])).body
        assert live["report"] == "live" and live["status"] == "live"
        assert live["audience"]["viewers_now"] == 4
        # v1 50 + v2 30 + v3 50 + v4 40 + v5 30 + v6 30
        assert live["audience"]["watch_time_s"] == 230
        assert live["funnel"] == {"viewers": 6, "reserved": 5, "ordered": 3, "paid": 2}

        # t=60: v6 leaves; t=180: v4's hold has run out (the sweeper returns it); t=200: the end
        clock.advance(10)
        assert (await v6.call("leave")).get("ok")
        clock.advance(120)
        await sweep_once(node.app)
        clock.advance(20)
        r = await api.call("POST", f"/api/v1/broadcasts/{b['id']}/end", token=host)
        assert r.status == 200, r.body
        clock.advance(30)  # after the end nothing counts: a late leave changes no number
        assert (await v1.call("leave")).get("ok")
    finally:
        for c in viewers:
            await c.close()

    got = (await report(node, host, b["id"])).body
    assert got["report"] == "final" and got["status"] == "ended"
    assert got["currency"] == "USD"
    a = got["audience"]
    # sessions: v1 0-200, v2 0-30, v3 0-200, v4 10-200, v5 10-40, v6 20-60 = 690 s over a 200 s show
    assert a["viewers_now"] == 0
    assert a["peak_viewers"] == 6
    assert a["unique_viewers"] == 6
    assert a["watch_time_s"] == 690
    assert a["average_viewers"] == 3.45
    assert a["chat_messages"] == 4  # the host's message is not the audience's
    assert a["unique_chatters"] == 3
    assert a["chat_per_minute"] == 1.2
    assert a["started_ms"] == t0 * 1000 and a["until_ms"] == (t0 + 200) * 1000
    assert got["funnel"] == {"viewers": 6, "reserved": 5, "ordered": 3, "paid": 2}
    assert got["conversion"] == {
        "reserved_of_viewers": 0.8333,
        "ordered_of_reserved": 0.6,
        "paid_of_ordered": 0.6667,
        "paid_of_viewers": 0.3333,
    }
    assert got["sales"] == {
        "orders": 4,
        "paid_orders": 2,
        "units": 2,
        "revenue": 2000,
        "average_order_value": 1000,
        "holds": 6,
        "holds_released": 1,
        "holds_expired": 1,
    }
    products = {p["product_id"]: p for p in got["products"]}
    assert products[p1["id"]] == {
        "product_id": p1["id"], "title": p1["title"], "sku": p1["sku"],
        "orders": 2, "paid_orders": 2, "units": 2, "revenue": 2000,
    }  # fmt: skip
    assert (products[p2["id"]]["orders"], products[p2["id"]]["revenue"]) == (2, 0)
    offers = {o["offer_id"]: o for o in got["offers"]}
    assert offers[offer_a["id"]]["sold_out_after_s"] == 40
    assert offers[offer_a["id"]]["holds_expired"] == 1
    assert offers[offer_b["id"]]["sold_out_after_s"] is None
    assert (offers[offer_b["id"]]["orders"], offers[offer_b["id"]]["paid_orders"]) == (2, 0)
    assert got["auctions"] == []
    sources = {s["source"]: s for s in got["sources"]}
    assert set(sources) == {"tiktok", "instagram", "direct"}
    assert sources["tiktok"] == {
        "source": "tiktok", "viewers": 2, "reserved": 1,
        "orders": 2, "paid_orders": 1, "units": 1, "revenue": 1000, "share_of_revenue": 0.5,
    }  # fmt: skip
    assert sources["instagram"] == {
        "source": "instagram", "viewers": 1, "reserved": 1,
        "orders": 1, "paid_orders": 1, "units": 1, "revenue": 1000, "share_of_revenue": 0.5,
    }  # fmt: skip
    assert sources["direct"] == {
        "source": "direct", "viewers": 3, "reserved": 3,
        "orders": 1, "paid_orders": 0, "units": 0, "revenue": 0, "share_of_revenue": 0.0,
    }  # fmt: skip
    # one point per 10 s bucket from 0 to 200: the most viewers at once in it, and its messages
    assert [p["viewers"] for p in got["samples"]] == [3, 5, 6, 6, 5, 4, 4] + [3] * 14
    assert [p["chat"] for p in got["samples"]] == [0, 0, 4] + [0] * 18
    assert [p["t"] for p in got["samples"]] == [(t0 + 10 * i) * 1000 for i in range(21)]

    # the same numbers as CSV, by ?format=csv and by Accept
    for query, accept in (("?format=csv", None), ("", "text/csv")):
        r = await report(node, host, b["id"], query, accept)
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in r.headers["Content-Disposition"]
        table = list(csv.DictReader(io.StringIO(r.body)))
        assert table and set(table[0]) == {"section", "id", "name", "metric", "value"}
        assert_csv_matches(table, got)


def assert_csv_matches(table: list[dict[str, str]], got: dict[str, Any]) -> None:
    cells = {(row["section"], row["id"], row["metric"]): row["value"] for row in table}

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    for section in ("audience", "funnel", "conversion", "sales"):
        for metric, value in got[section].items():
            assert cells[(section, "", metric)] == text(value), (section, metric)
    for section, key, id_field in (
        ("product", "products", "product_id"),
        ("offer", "offers", "offer_id"),
        ("source", "sources", "source"),
    ):
        for item in got[key]:
            for metric, value in item.items():
                if metric not in (id_field, "title", "product_id", "source"):
                    assert cells[(section, item[id_field], metric)] == text(value), (section, metric)
    for point in got["samples"]:
        assert cells[("sample", str(point["t"]), "viewers")] == str(point["viewers"])
        assert cells[("sample", str(point["t"]), "chat")] == str(point["chat"])
    n_rows = (
        6
        + sum(len(got[s]) for s in ("audience", "funnel", "conversion", "sales"))
        + sum(len(p) - 2 for p in got["products"])  # less its id and title
        + sum(len(o) - 3 for o in got["offers"])
        + sum(len(s) - 1 for s in got["sources"])
        + 2 * len(got["samples"])
    )
    assert len(table) == n_rows


async def _eq(value: Any, want: int) -> bool:
    return bool(await value == want)


async def test_the_report_refuses_bad_input_with_problem_codes(node: Node) -> None:
    api = node.api
    host = await new_host(node.app, api)
    other = await new_host(node.app, api)
    b = await api.broadcast(host)
    viewer = await api.guest()
    for token, query, accept, status, code in (
        (host, "?format=xml", None, 422, "validation_error"),
        (host, "?format=", None, 422, "validation_error"),
        (host, "", "image/png", 406, "not_acceptable"),
        (other, "", None, 404, "not_found"),  # another shop's broadcast does not exist for them
        (viewer, "", None, 403, "forbidden"),
        (None, "", None, 401, "unauthorized"),
    ):
        headers = {"Accept": accept} if accept else None
        r = await api.call("GET", f"/api/v1/broadcasts/{b['id']}/report{query}", token=token, headers=headers)
        assert (r.status, r.code) == (status, code), (query, accept, r.body)
        assert r.headers["Content-Type"].startswith("application/problem+json")
    r = await api.call("GET", "/api/v1/broadcasts/bc_nope/report", token=host)
    assert (r.status, r.code) == (404, "not_found")
    r = await api.call("GET", f"/api/v1/broadcasts/{b['id']}/report", token=host)
    assert r.status == 200 and r.body["report"] == "scheduled"
    assert r.body["funnel"] == {"viewers": 0, "reserved": 0, "ordered": 0, "paid": 0}
    assert r.body["samples"] == [] and r.body["sources"] == []


async def test_a_garbled_attribution_never_fails_a_purchase(node: Node) -> None:
    api = node.api
    host = await new_host(node.app, api)
    product = await api.product(host, stock=5, price=700)
    b = await api.broadcast(host)
    offer = await api.offer(host, b["id"], product["id"], 2, price=700)
    buyer = await api.guest()
    for header in ("%%%=&&utm_source", "utm_source=" + "x" * 2000, "utm_source==tik tok!!&ref=..."):
        r = await api.call(
            "POST",
            f"/api/v1/offers/{offer['id']}/reservations",
            token=buyer,
            json={"quantity": 1},
            headers={"Liveshop-Attribution": header, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status == 201, r.body
        r = await api.call("DELETE", f"/api/v1/reservations/{r.body['id']}", token=buyer)
        assert r.status == 204


async def test_an_auction_won_from_a_youtube_link_is_revenue_of_the_auction_and_of_youtube(
    node: Node, stripe_sandbox: Running, http: aiohttp.ClientSession
) -> None:
    api, clock = node.api, node.clock
    host = await new_host(node.app, api)
    product = await api.product(host, stock=3, price=5000)
    b = await api.broadcast(host)
    assert (await api.call("POST", f"/api/v1/broadcasts/{b['id']}/start", token=host)).status == 200
    r = await api.call(
        "POST",
        f"/api/v1/broadcasts/{b['id']}/auctions",
        token=host,
        json={"product_id": product["id"], "starting_bid": 1000, "increment": 100, "duration_s": 60},
    )
    assert r.status == 201, r.body
    auction_id = r.body["id"]
    bidders = [await api.guest("bidder") for _ in range(2)]
    for token, amount in ((bidders[0], 1000), (bidders[1], 1500)):
        bid = await api.call(
            "POST",
            f"/api/v1/auctions/{auction_id}/bids",
            token=token,
            json={"amount": amount},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert bid.status == 201, bid.body
    clock.advance(61)
    await sweep_once(node.app)
    done = (await api.call("GET", f"/api/v1/auctions/{auction_id}")).body
    assert done["status"] == "ended" and done["winner"]["reservation_id"]
    r = await api.call(
        "POST",
        "/api/v1/orders",
        token=bidders[1],
        headers={
            "Idempotency-Key": uuid.uuid4().hex,
            "Liveshop-Attribution": "utm_campaign=live&ref=m.youtube.com",  # no utm_source: the referrer
        },
        json={
            "reservation_id": done["winner"]["reservation_id"],
            "buyer": {"name": "Bidder", "email": "bidder@example.com", "address": "2 Gavel Road"},
        },
    )
    assert r.status == 201, r.body
    status, _ = await sandbox_pay(
        http, stripe_sandbox, r.body["payment"]["client_secret"], "4242424242424242"
    )
    assert status == 200
    await settle(http, stripe_sandbox)

    got = (await report(node, host, b["id"])).body
    assert got["auctions"] == [
        {
            "auction_id": auction_id, "product_id": product["id"], "title": product["title"],
            "status": "ended", "winning_bid": 1500,
            "orders": 1, "paid_orders": 1, "units": 1, "revenue": 1500,
        }
    ]  # fmt: skip
    assert got["offers"] == []  # the auction's one-unit offer is the auction's, not a flash offer
    assert [(p["product_id"], p["revenue"]) for p in got["products"]] == [(product["id"], 1500)]
    assert [(s["source"], s["orders"], s["revenue"], s["share_of_revenue"]) for s in got["sources"]] == [
        ("youtube", 1, 1500, 1.0)
    ]
    assert got["funnel"]["ordered"] == got["funnel"]["paid"] == 1
    assert got["sales"]["revenue"] == got["sales"]["average_order_value"] == 1500


async def test_a_comment_to_buy_hold_counts_under_the_source_the_viewer_joined_with(node: Node) -> None:
    api = node.api
    host = await new_host(node.app, api)
    product = await api.product(host, stock=5, price=900)
    b = await api.broadcast(host)
    assert (await api.call("POST", f"/api/v1/broadcasts/{b['id']}/start", token=host)).status == 200
    await api.offer(host, b["id"], product["id"], 3, price=900)
    pinned = await api.call(
        "PUT", f"/api/v1/broadcasts/{b['id']}/pin", token=host, json={"product_id": product["id"]}
    )
    assert pinned.status == 200, pinned.body
    viewer = await RoomClient(node.url, await api.guest("from-tiktok")).connect()
    try:
        snap = await viewer.call("join", {"broadcast_id": b["id"], "attribution": {"utm_source": "tiktok"}})
        assert "error" not in snap, snap
        assert (await viewer.call("chat", {"text": "buy"})).get("ok") is True
        await viewer.wait(lambda: viewer.events["reservation"], what="the keyword's hold")
    finally:
        await viewer.close()
    got = (await report(node, host, b["id"])).body
    sources = {s["source"]: s for s in got["sources"]}
    assert sources["tiktok"]["reserved"] == 1, got["sources"]
