"""Auctions (server/commerce/auctions.py, server/inventory/lua/bid.lua) over real HTTP, Redis and
PostgreSQL, on a clock the test moves: the bid rules and their stable refusals, 500 bidders at once,
anti-snipe extensions, exactly one winner who checks out at the high bid, and a Redis loss."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from server.api.context import DB, EVENTS, INVENTORY, REDIS, SETTINGS
from server.clock import ShiftedClock
from server.commerce import auctions
from server.commerce.auctions import AUCTION_BOOK, _record, end_auction
from server.commerce.models import Auction, AuctionBid
from server.commerce.sweeper import sweep_once
from server.errors import DomainError
from server.events import AUCTION, Event
from server.inventory.keys import auction_keys
from server.inventory.models import Offer
from tests.api_client import Api, Reply
from tests.conftest import make_settings, new_host, start_app
from tests.faults import FAILING_BIDDER, refuse_bids_of_the_failing_bidder
from tests.services import PostgresDatabase, RedisServer

Node = tuple[web.Application, Api, ShiftedClock]


async def _auction(api: Api, host: str, broadcast_id: str, product_id: str, **overrides: Any) -> Reply:
    body = {
        "product_id": product_id,
        "starting_bid": 1000,
        "increment": 100,
        "duration_s": 60,
        "anti_snipe_s": 10,
    }
    body.update(overrides)
    return await api.call("POST", f"/api/v1/broadcasts/{broadcast_id}/auctions", token=host, json=body)


async def _bid(api: Api, token: str, auction_id: str, amount: Any, key: str | None = None) -> Reply:
    headers = {"Idempotency-Key": key} if key else None
    return await api.call(
        "POST", f"/api/v1/auctions/{auction_id}/bids", token=token, json={"amount": amount}, headers=headers
    )


async def _get(api: Api, auction_id: str) -> dict[str, Any]:
    r = await api.call("GET", f"/api/v1/auctions/{auction_id}")
    assert r.status == 200, r.body
    return dict(r.body)


async def _setup(
    api: Api, app: web.Application, **overrides: Any
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    host = await new_host(app, api)
    product = await api.product(host, stock=3)
    broadcast = await api.broadcast(host)
    r = await _auction(api, host, broadcast["id"], product["id"], **overrides)
    assert r.status == 201, r.body
    return host, product, r.body


async def test_the_bid_rules_and_every_bad_bid_get_stable_codes_and_change_nothing(
    own_clock_node: Node,
) -> None:
    app, api, clock = own_clock_node
    host, product, auction = await _setup(api, app)
    assert (auction["status"], auction["high_bid"], auction["high_bidder"], auction["winner"]) == (
        "active",
        None,
        None,
        None,
    )
    assert auction["bids"] == [] and auction["product_id"] == product["id"]
    shelf = await api.call("GET", f"/api/v1/products/{product['id']}", token=host)
    assert shelf.body["stock"] == 2  # the auctioned unit left the shelf
    aid = auction["id"]
    ada, bob = await api.guest("Ada"), await api.guest("Bob")

    low = await _bid(api, ada, aid, 999)
    assert (low.status, low.code, low.body["min_bid"]) == (409, "bid_too_low", 1000)
    first = await _bid(api, ada, aid, 1000)
    assert first.status == 201 and first.body["amount"] == 1000
    assert (
        first.body["auction"]["high_bid"] == 1000
        and first.body["auction"]["high_bidder"]["nickname"] == "Ada"
    )
    self_bid = await _bid(api, ada, aid, 1500)
    assert (self_bid.status, self_bid.code, self_bid.body["min_bid"]) == (409, "already_high_bidder", 1100)
    short = await _bid(api, bob, aid, 1050)
    assert (short.status, short.code, short.body["min_bid"]) == (409, "bid_too_low", 1100)
    bad_bodies: list[Any] = [
        {"amount": -5},
        {"amount": 0},
        {"amount": 10**12},
        {"amount": 2**70},
        {"amount": 1100.5},
        {"amount": "1100"},
        {"amount": True},
        {"amount": 1100, "currency": "EUR"},
        {},
        [1100],
    ]
    path = f"/api/v1/auctions/{aid}/bids"
    for body in bad_bodies:
        r = await api.call("POST", path, token=bob, json=body)
        assert (r.status, r.code) == (422, "validation_error"), (body, r.body)
    garbage = await api.call(
        "POST", path, token=bob, data=b"\xff{", headers={"Content-Type": "application/json"}
    )
    assert garbage.status == 400 and garbage.code == "invalid_json"
    anonymous = await api.call("POST", path, json={"amount": 1100})
    assert anonymous.status == 401
    view = await _get(api, aid)
    assert view["high_bid"] == 1000 and len(view["bids"]) == 1  # nothing changed

    key = uuid.uuid4().hex
    second = await _bid(api, bob, aid, 1100, key)
    again = await _bid(api, bob, aid, 1100, key)
    assert second.status == again.status == 201
    assert again.body["id"] == second.body["id"] and again.headers.get("Idempotent-Replayed") == "true"
    reused = await _bid(api, bob, aid, 1300, key)
    assert (reused.status, reused.code) == (422, "idempotency_key_reused")
    view = await _get(api, aid)
    assert [b["amount"] for b in view["bids"]] == [1100, 1000]  # newest first
    assert [b["bidder"]["nickname"] for b in view["bids"]] == ["Bob", "Ada"]
    assert view["high_bidder"]["nickname"] == "Bob" and view["min_bid"] == 1200
    async with app[DB]() as session:
        rows = (await session.execute(select(func.count()).where(AuctionBid.auction_id == aid))).scalar_one()
    assert rows == 2  # every acknowledged bid is a row, a replay adds none

    assert (await api.call("GET", "/api/v1/auctions/au_nope")).status == 404
    assert (await _bid(api, ada, "au_nope", 5000)).status == 404
    other = await new_host(app, api)
    theirs = await _auction(api, other, auction["broadcast_id"], product["id"])
    assert theirs.status in (403, 404)
    for field, value in (("starting_bid", 0), ("increment", -1), ("duration_s", 1), ("anti_snipe_s", 10**6)):
        r = await _auction(api, host, auction["broadcast_id"], product["id"], **{field: value})
        assert (r.status, r.code, r.body.get("field")) == (422, "validation_error", field), r.body
    missing = await _auction(api, host, auction["broadcast_id"], "pr_missing")
    assert missing.status == 404

    clock.advance(61)
    late = await _bid(api, ada, aid, 5000)
    assert (late.status, late.code) == (410, "auction_ended")
    assert (await _get(api, aid))["status"] == "ended"
    replay_after_end = await _bid(api, bob, aid, 1100, key)
    assert replay_after_end.status == 201 and replay_after_end.body["id"] == second.body["id"]


async def test_500_bidders_at_once_rise_strictly_extend_the_end_and_leave_one_winner_who_checks_out(
    own_clock_node: Node,
) -> None:
    app, api, clock = own_clock_node
    increment = 10
    sem = asyncio.Semaphore(100)

    async def guest(i: int) -> str:
        async with sem:
            return await api.guest(f"bidder{i}")

    # The bidders first: however long 500 guest sessions take, the auction's clock starts after them.
    tokens = await asyncio.gather(*(guest(i) for i in range(500)))
    _host, _product, auction = await _setup(api, app, starting_bid=100, increment=increment, anti_snipe_s=30)
    aid = auction["id"]
    first_end = datetime.fromisoformat(auction["ends_at"])
    clock.advance(45)  # 15 s left, inside the 30 s anti-snipe window: every accepted bid extends
    rng = random.Random(14)
    replies: list[Reply] = []
    token_of: dict[int, str] = {}

    async def bidder(token: str) -> None:
        amount = 100 + rng.randrange(0, 3) * increment
        for _ in range(5):  # bounded: at most five tries each
            r = await _bid(api, token, aid, amount, uuid.uuid4().hex)
            replies.append(r)
            token_of[id(r)] = token
            if r.status == 201 or r.code not in ("bid_too_low",):
                return
            amount = int(r.body["min_bid"]) + rng.randrange(0, 5) * increment

    await asyncio.gather(*(bidder(t) for t in tokens))
    assert all(r.status in (201, 409) for r in replies), {r.status for r in replies}
    accepted = sorted((r for r in replies if r.status == 201), key=lambda r: r.body["amount"])
    assert len(accepted) >= 10, len(accepted)
    assert {r.code for r in replies if r.status == 409} <= {"bid_too_low", "already_high_bidder"}

    view = await _get(api, aid)
    chain = [b["amount"] for b in reversed(view["bids"])]  # oldest first, in the order accepted
    assert all(b - a >= increment for a, b in itertools.pairwise(chain)), chain
    by_amount = [r.body["id"] for r in accepted]  # every accepted amount is distinct, rising
    assert view["bid_count"] == len(accepted)
    assert [b["id"] for b in reversed(view["bids"])] == by_amount[-100:]  # the view's newest 100
    assert accepted[0].body["amount"] >= 100
    ends_at = datetime.fromisoformat(view["ends_at"])
    last_bid_at = datetime.fromisoformat(view["bids"][0]["at"])
    assert ends_at > first_end  # anti-snipe moved the end
    assert abs((ends_at - last_bid_at).total_seconds() - 30) < 0.01
    high, winner = view["high_bid"], view["high_bidder"]["id"]
    assert high == chain[-1] == accepted[-1].body["amount"]
    async with app[DB]() as session:
        stored = (
            (await session.execute(select(AuctionBid.id).where(AuctionBid.auction_id == aid))).scalars().all()
        )
    assert sorted(stored) == sorted(by_amount)  # every acknowledged bid is durable

    clock.advance(31)
    await asyncio.gather(sweep_once(app), sweep_once(app), end_auction(app, aid))  # ends once, however raced
    done = await _get(api, aid)
    assert done["status"] == "ended" and done["winner"]["user_id"] == winner
    reservation_id = done["winner"]["reservation_id"]
    assert reservation_id
    assert (await _bid(api, tokens[0], aid, high + 1000)).code == "auction_ended"

    winning = token_of[id(next(r for r in accepted if r.body["id"] == view["bids"][0]["id"]))]
    loser = token_of[id(accepted[0])]
    assert loser != winning
    assert (await api.checkout(loser, reservation_id)).status == 404
    hold = await api.call("GET", f"/api/v1/reservations/{reservation_id}", token=winning)
    assert hold.status == 200 and hold.body["quantity"] == 1
    order = await api.checkout(winning, reservation_id, key=uuid.uuid4().hex)
    assert order.status == 201, order.body
    assert order.body["total"] == high and order.body["items"][0]["quantity"] == 1


async def test_a_winners_hold_made_late_keeps_its_whole_time_and_the_offer_closes_with_it(
    own_clock_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node that ended the auction died after the commit, before the hold; a sweeper pass 30 s
    later makes it. The winner's offer closes when that hold does, not 30 s before."""
    app, api, clock = own_clock_node
    _, _, auction = await _setup(api, app, anti_snipe_s=0)
    aid = auction["id"]
    ada = await api.guest("Ada")
    assert (await _bid(api, ada, aid, 1000)).status == 201
    hold_for_winner = auctions._hold_for_winner

    async def node_dies(*_: Any) -> None:
        raise ConnectionError("the node died after the end's commit")

    monkeypatch.setattr(auctions, "_hold_for_winner", node_dies)
    clock.advance(61)
    with pytest.raises(ConnectionError):
        await end_auction(app, aid)
    monkeypatch.setattr(auctions, "_hold_for_winner", hold_for_winner)
    clock.advance(30)
    await sweep_once(app)  # the unfinished end: the hold is made now
    won = (await _get(api, aid))["winner"]
    assert won["reservation_id"]
    async with app[DB]() as session:
        offer_id = (await session.execute(select(Auction.offer_id).where(Auction.id == aid))).scalar_one()
        offer = await session.get(Offer, offer_id)
    assert offer is not None
    hold = (await app[INVENTORY].holds_of(offer.id))[won["reservation_id"]]
    assert round(offer.ends_at.timestamp() * 1000) == hold[2]  # the window ends with the hold
    clock.advance(app[SETTINGS].hold_seconds - 2)  # past the first window, inside the hold's time
    await sweep_once(app)
    order = await api.checkout(ada, won["reservation_id"], key=uuid.uuid4().hex)
    assert order.status == 201 and order.body["total"] == 1000, order.body


async def test_an_auction_without_bids_puts_its_unit_back_on_the_shelf(own_clock_node: Node) -> None:
    app, api, clock = own_clock_node
    host, product, auction = await _setup(api, app)
    clock.advance(61)
    await sweep_once(app)
    view = await _get(api, auction["id"])
    assert (view["status"], view["winner"], view["high_bid"]) == ("ended", None, None)
    shelf = await api.call("GET", f"/api/v1/products/{product['id']}", token=host)
    assert shelf.body["stock"] == 3


async def test_a_redis_loss_forgets_no_acknowledged_bid(own_clock_node: Node) -> None:
    """What a loss may lose is stated in server/commerce/auctions.py; an acknowledged bid is not it."""
    app, api, clock = own_clock_node
    _, _, auction = await _setup(api, app, anti_snipe_s=30)
    aid = auction["id"]
    ada, bob = await api.guest("Ada"), await api.guest("Bob")
    key = uuid.uuid4().hex
    assert (await _bid(api, ada, aid, 1000)).status == 201
    clock.advance(40)  # inside the window: the next bid extends the end
    kept = await _bid(api, bob, aid, 1100, key)
    assert kept.status == 201
    before = await _get(api, aid)
    assert await app[REDIS].delete(*auction_keys(aid)) >= 1  # Redis lost the auction

    after = await _get(api, aid)
    assert (after["high_bid"], after["ends_at"], after["bids"]) == (
        before["high_bid"],
        before["ends_at"],
        before["bids"],
    )
    replay = await _bid(api, bob, aid, 1100, key)  # the key came back from PostgreSQL too
    assert replay.status == 201 and replay.body["id"] == kept.body["id"]
    low = await _bid(api, ada, aid, 1150)
    assert (low.code, low.body["min_bid"]) == ("bid_too_low", 1200)
    assert (await _bid(api, bob, aid, 1300)).code == "already_high_bidder"
    assert (await _bid(api, ada, aid, 1200)).status == 201


async def test_a_state_written_by_another_redis_process_is_rebuilt_before_a_bid_is_judged(
    own_clock_node: Node,
) -> None:
    """A failover's promoted replica may miss acknowledged bids: its copy (another epoch) is not trusted."""
    app, api, _ = own_clock_node
    _, _, auction = await _setup(api, app)
    aid = auction["id"]
    ada, bob = await api.guest("Ada"), await api.guest("Bob")
    assert (await _bid(api, ada, aid, 1000)).status == 201
    assert (await _bid(api, bob, aid, 1100)).status == 201
    state = auction_keys(aid)[0]
    # the replica's copy: it missed Bob's bid and was written by another process
    await app[REDIS].hset(state, mapping={"high": 1000, "high_bidder": "someone", "epoch": "another-process"})
    low = await _bid(api, ada, aid, 1150)
    assert (low.code, low.body["min_bid"]) == ("bid_too_low", 1200)
    view = await _get(api, aid)
    assert view["high_bid"] == 1100 and view["high_bidder"]["nickname"] == "Bob"


async def test_a_bid_postgresql_did_not_record_is_never_acknowledged_nor_won(own_clock_node: Node) -> None:
    """The bid is written before it is acknowledged: a failed write answers 503, a retry with the same
    key writes it, and a bid never written does not win (the end resets Redis to PostgreSQL's bids)."""
    app, api, clock = own_clock_node
    host, _, auction = await _setup(api, app)
    aid = auction["id"]
    ada, failing = await api.guest("Ada"), await api.guest(FAILING_BIDDER)
    await refuse_bids_of_the_failing_bidder(app[DB])
    try:
        assert (await _bid(api, ada, aid, 1000)).status == 201
        key = uuid.uuid4().hex
        refused = await _bid(api, failing, aid, 1100, key)
        assert (refused.status, refused.code) == (503, "service_unavailable")
        await refuse_bids_of_the_failing_bidder(app[DB], on=False)
        healed = await _bid(api, failing, aid, 1100, key)
        assert healed.status == 201 and healed.headers.get("Idempotent-Replayed") == "true"
        assert (await _bid(api, ada, aid, 1200)).status == 201
        await refuse_bids_of_the_failing_bidder(app[DB])
        lost = await _bid(api, failing, aid, 1300, uuid.uuid4().hex)
        assert lost.status == 503  # Redis took it as the high bid; PostgreSQL has no row
    finally:
        await refuse_bids_of_the_failing_bidder(app[DB], on=False)
    assert (await _bid(api, host, aid, 5000)).code == "forbidden"  # a host never bids on its own lot
    clock.advance(61)
    await sweep_once(app)
    view = await _get(api, aid)
    assert view["winner"]["user_id"] == view["high_bidder"]["id"]
    assert view["high_bid"] == 1200 and view["high_bidder"]["nickname"] == "Ada"
    assert [b["amount"] for b in view["bids"]] == [1200, 1100, 1000]


async def test_only_a_bid_inside_the_anti_snipe_window_moves_the_end_to_now_plus_the_window(
    own_clock_node: Node,
) -> None:
    app, api, clock = own_clock_node
    _, _, auction = await _setup(api, app, duration_s=60, anti_snipe_s=10)
    aid = auction["id"]
    first_end = datetime.fromisoformat(auction["ends_at"])
    ada, bob = await api.guest("Ada"), await api.guest("Bob")
    clock.advance(49.5)  # 10.5 s left: outside the window
    early = await _bid(api, ada, aid, 1000)
    assert datetime.fromisoformat(early.body["auction"]["ends_at"]) == first_end
    clock.advance(1)  # 9.5 s left: inside
    late = await _bid(api, bob, aid, 1100)
    moved = datetime.fromisoformat(late.body["auction"]["ends_at"])
    at = datetime.fromisoformat(late.body["auction"]["bids"][0]["at"])
    assert moved > first_end and abs((moved - at).total_seconds() - 10) < 0.01
    clock.advance(9.9)  # still open: the end moved
    assert (await _bid(api, ada, aid, 1200)).status == 201


async def test_a_node_that_cached_the_auction_sees_the_winner_another_node_set(
    own_clock_node: Node,
    own_clock_services: tuple[PostgresDatabase, RedisServer],
    http: aiohttp.ClientSession,
) -> None:
    app, api, clock = own_clock_node
    other_clock = ShiftedClock()
    _, server = await start_app(make_settings(*own_clock_services), background=False, clock=other_clock)
    try:
        other = Api(http, str(server.make_url("")).rstrip("/"))
        _, _, auction = await _setup(api, app)
        aid = auction["id"]
        ada = await api.guest("Ada")
        assert (await _bid(other, ada, aid, 1000)).status == 201  # the other node caches it, active
        clock.advance(61)
        await sweep_once(app)
        seen = await _get(other, aid)
        assert seen["status"] == "ended" and seen["winner"] is not None
        assert seen["winner"]["reservation_id"] == (await _get(api, aid))["winner"]["reservation_id"]
    finally:
        await server.close()


async def test_a_node_that_cached_the_ended_auction_sees_the_runner_up_another_node_chose(
    own_clock_node: Node,
    own_clock_services: tuple[PostgresDatabase, RedisServer],
    http: aiohttp.ClientSession,
) -> None:
    """The second chance moves the win on one node; every other node's cached row goes with it."""
    app, api, clock = own_clock_node
    other_app, server = await start_app(
        make_settings(*own_clock_services), background=False, clock=ShiftedClock()
    )
    relayed = asyncio.Event()

    def on_auction(event: Event) -> None:  # runs after the node's own handlers (subscribed first)
        if not event.is_local and event.data["type"] == "second_chance":
            relayed.set()

    other_app[EVENTS].subscribe(AUCTION, on_auction)
    try:
        other = Api(http, str(server.make_url("")).rstrip("/"))
        _, _, auction = await _setup(api, app, anti_snipe_s=0)
        aid = auction["id"]
        ada, bob = await api.guest("Ada"), await api.guest("Bob")
        assert (await _bid(api, ada, aid, 1000)).status == 201
        assert (await _bid(api, bob, aid, 1200)).status == 201
        clock.advance(61)
        await sweep_once(app)
        bob_id = (await _get(api, aid))["winner"]["user_id"]
        assert (await _get(other, aid))["winner"]["user_id"] == bob_id  # the other node caches it, ended
        clock.advance(app[SETTINGS].hold_seconds + 2)  # Bob never pays
        await sweep_once(app)
        here = (await _get(api, aid))["winner"]
        assert here["user_id"] != bob_id and here["amount"] == 1000
        await asyncio.wait_for(relayed.wait(), 10)
        assert (await _get(other, aid))["winner"] == here
    finally:
        await server.close()


async def test_a_bid_redis_took_just_before_the_end_but_written_after_it_is_refused_not_lost(
    own_clock_node: Node,
) -> None:
    """The end reads PostgreSQL's bids under the auction's row lock; a bid whose row comes later is
    answered auction_ended, so no acknowledged bid is ever missing from the winner's choice."""
    app, api, _ = own_clock_node
    _, _, auction = await _setup(api, app, anti_snipe_s=0)
    aid = auction["id"]
    ada = await api.guest("Ada")
    assert (await _bid(api, ada, aid, 1000)).status == 201
    late = await app[AUCTION_BOOK].bid(aid, "us_late", "Late", 1100, "bd_late")
    assert late.code == "ok"  # Redis said yes; the row is not written yet
    ended = await end_auction(app, aid, force=True)
    assert ended is not None and ended.winning_bid == 1000
    with pytest.raises(DomainError) as refused:
        await _record(app[DB], aid, "us_late", None, late)
    assert refused.value.code == "auction_ended"
    view = await _get(api, aid)
    assert view["high_bid"] == 1000 and [b["amount"] for b in view["bids"]] == [1000]


async def test_below_the_reserve_price_nobody_wins_and_the_unit_goes_back(own_clock_node: Node) -> None:
    app, api, clock = own_clock_node
    host, product, auction = await _setup(api, app, reserve_price=1500)
    aid = auction["id"]
    assert auction["reserve_met"] is False and "reserve_price" not in auction  # the price stays private
    ada, bob = await api.guest("Ada"), await api.guest("Bob")
    assert (await _bid(api, ada, aid, 1000)).body["auction"]["reserve_met"] is False
    clock.advance(61)
    await sweep_once(app)
    view = await _get(api, aid)
    assert (view["status"], view["winner"], view["high_bid"]) == ("ended", None, 1000)
    shelf = await api.call("GET", f"/api/v1/products/{product['id']}", token=host)
    assert shelf.body["stock"] == 3

    met = (await _auction(api, host, auction["broadcast_id"], product["id"], reserve_price=1500)).body
    assert (await _bid(api, ada, met["id"], 1000)).status == 201
    assert (await _bid(api, bob, met["id"], 1500)).body["auction"]["reserve_met"] is True
    clock.advance(61)
    await sweep_once(app)
    assert (await _get(api, met["id"]))["winner"]["reservation_id"]
    bad = await _auction(api, host, auction["broadcast_id"], product["id"], reserve_price=0)
    assert (bad.status, bad.body.get("field")) == (422, "reserve_price")
