"""Auction options over real HTTP, Redis, PostgreSQL and socket.io, on a clock the test moves: max bids
(the server bids for a viewer; the max stays theirs alone), sudden death, and the second-chance offer
to the runner-up when a winner lets the hold expire."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson

from server.api.context import REDIS, SETTINGS
from server.commerce.sweeper import sweep_once
from server.inventory.keys import auction_keys
from tests.api_client import Api, Reply
from tests.commerce.test_auctions import Node, _auction, _bid, _get, _setup
from tests.conftest import new_host
from tests.live.conftest import RoomClient


async def _max_bid(api: Api, token: str, auction_id: str, most: Any, key: str | None = None) -> Reply:
    headers = {"Idempotency-Key": key} if key else None
    return await api.call(
        "POST", f"/api/v1/auctions/{auction_id}/bids", token=token, json={"max_amount": most}, headers=headers
    )


async def _user_id(api: Api, token: str) -> str:
    r = await api.call("GET", "/api/v1/auth/me", token=token)
    assert r.status == 200, r.body
    return str(r.body["user"]["id"])


def _no_max_in(data: Any) -> None:
    """A max is private: no view, room message or answer to another viewer names one."""
    assert b"max" not in orjson.dumps(data).replace(b'"max_amount":null', b""), data


async def test_the_server_bids_for_a_max_one_step_at_a_time_and_the_max_stays_private(
    own_clock_node: Node,
) -> None:
    app, api, clock = own_clock_node
    _, _, auction = await _setup(api, app, starting_bid=1000, increment=100)
    aid = auction["id"]
    ada, bob = await api.guest("Ada"), await api.guest("Bob")
    for body in ({"amount": 1000, "max_amount": 2000}, {"max_amount": 0}, {"max_amount": "2000"}):
        r = await api.call("POST", f"/api/v1/auctions/{aid}/bids", token=ada, json=body)
        assert (r.status, r.code) == (422, "validation_error"), (body, r.body)

    key = uuid.uuid4().hex
    first = await _max_bid(api, ada, aid, 2000, key)
    assert first.status == 201, first.body
    assert (first.body["amount"], first.body["leading"], first.body["max_amount"]) == (1000, True, 2000)
    assert (await _max_bid(api, ada, aid, 2000, key)).body["id"] == first.body["id"]  # a replay
    _no_max_in(first.body["auction"])

    beaten = await _bid(api, bob, aid, 1500)  # below Ada's max: the server answers for her at once
    assert beaten.status == 201, beaten.body
    assert (beaten.body["id"], beaten.body["leading"], beaten.body["max_amount"]) == (None, False, None)
    view = beaten.body["auction"]
    assert (view["high_bid"], view["high_bidder"]["nickname"], view["min_bid"]) == (1600, "Ada", 1700)
    _no_max_in(view)
    tie = await _max_bid(api, bob, aid, 2000)  # a tie goes to the earlier max: Ada's, at her max
    assert (tie.body["leading"], tie.body["auction"]["high_bid"]) == (False, 2000)

    raised = await _max_bid(api, ada, aid, 3000)  # the high bidder raises her max: no bid, same price
    assert (raised.status, raised.body["id"], raised.body["max_amount"]) == (201, None, 3000)
    assert raised.body["auction"]["bid_count"] == 3 and raised.body["auction"]["high_bid"] == 2000
    assert (await _bid(api, ada, aid, 2500)).code == "already_high_bidder"

    assert await app[REDIS].delete(*auction_keys(aid)) >= 1  # Redis lost it: the max comes back from rows
    again = await _bid(api, bob, aid, 2500)
    assert (again.body["leading"], again.body["auction"]["high_bid"]) == (False, 2600)
    over = await _max_bid(api, bob, aid, 5000)  # Bob's max beats hers: he leads at her max + increment
    assert (over.body["leading"], over.body["amount"], over.body["max_amount"]) == (True, 3100, 5000)
    view = await _get(api, aid)
    assert [b["amount"] for b in view["bids"]] == [3100, 2600, 2000, 1600, 1000]
    assert [b["bidder"]["nickname"] for b in view["bids"]] == ["Bob", "Ada", "Ada", "Ada", "Ada"]
    _no_max_in(view)

    clock.advance(61)
    await sweep_once(app)
    done = await _get(api, aid)
    assert (done["winner"]["amount"], done["high_bidder"]["nickname"]) == (3100, "Bob")
    order = await api.checkout(bob, done["winner"]["reservation_id"], key=uuid.uuid4().hex)
    assert order.status == 201 and order.body["total"] == 3100  # the high bid, never the max


async def test_sudden_death_never_extends_and_the_first_bid_after_the_main_time_wins_at_once(
    own_clock_node: Node,
) -> None:
    app, api, clock = own_clock_node
    host, product, _ = await _setup(api, app)
    bid_on = (await api.broadcast(host))["id"]
    both = await _auction(api, host, bid_on, product["id"], sudden_death_s=10, anti_snipe_s=10)
    assert (both.status, both.code, both.body.get("field")) == (422, "validation_error", "anti_snipe_s")
    r = await _auction(api, host, bid_on, product["id"], sudden_death_s=10, anti_snipe_s=0, duration_s=30)
    assert r.status == 201 and r.body["sudden_death_s"] == 10 and r.body["sudden_death"] is False
    aid, main_end = r.body["id"], r.body["ends_at"]
    ada, bob, cy = await api.guest("Ada"), await api.guest("Bob"), await api.guest("Cy")

    clock.advance(28)
    late = await _bid(api, ada, aid, 1000)
    assert late.status == 201 and late.body["auction"]["ends_at"] == main_end  # no extension
    clock.advance(3)  # the main time is over: the next accepted bid decides it
    await sweep_once(app)
    view = await _get(api, aid)
    assert (view["status"], view["sudden_death"]) == ("active", True)
    assert datetime.fromisoformat(view["closes_at"]) - datetime.fromisoformat(main_end) == timedelta(
        seconds=10
    )
    assert (await _bid(api, bob, aid, 1050)).code == "bid_too_low"  # a refused bid decides nothing
    deciding = await _bid(api, bob, aid, 1100)
    assert deciding.status == 201, deciding.body
    assert deciding.body["auction"]["status"] == "ended"
    assert deciding.body["auction"]["winner"]["user_id"] == await _user_id(api, bob)
    assert (await _bid(api, cy, aid, 5000)).code == "auction_ended"

    quiet = await _auction(api, host, bid_on, product["id"], sudden_death_s=5, anti_snipe_s=0, duration_s=30)
    qid = quiet.body["id"]
    assert (await _bid(api, ada, qid, 1000)).status == 201
    clock.advance(33)  # past the main time, inside the window: still open for one deciding bid
    await sweep_once(app)
    assert (await _get(api, qid))["status"] == "active"
    clock.advance(3)  # the window passed with no bid: the high bid wins
    await sweep_once(app)
    ended = await _get(api, qid)
    assert ended["status"] == "ended" and ended["winner"]["amount"] == 1000
    assert (await _bid(api, bob, qid, 1100)).code == "auction_ended"


async def test_a_winner_who_does_not_pay_in_time_passes_the_unit_to_the_runner_up(
    own_clock_node: Node,
) -> None:
    app, api, clock = own_clock_node
    host, product, auction = await _setup(api, app, anti_snipe_s=0)
    aid = auction["id"]
    ada, bob, cy = await api.guest("Ada"), await api.guest("Bob"), await api.guest("Cy")
    base = api.base
    listeners = {
        name: await RoomClient(base, token).connect() for name, token in (("ada", ada), ("bob", bob))
    }
    try:
        for who in listeners.values():
            await who.join(auction["broadcast_id"])
        assert (await _bid(api, ada, aid, 1000)).status == 201
        assert (await _bid(api, bob, aid, 1200)).status == 201
        assert (await _bid(api, ada, aid, 1300)).status == 201
        assert (await _bid(api, cy, aid, 1500)).status == 201
        clock.advance(61)
        await sweep_once(app)
        won = await _get(api, aid)
        first_hold = won["winner"]["reservation_id"]
        assert won["winner"]["amount"] == 1500 and won["winner"]["second_chance"] is False

        hold_s = app[SETTINGS].hold_seconds
        clock.advance(hold_s + 2)  # Cy never pays: the hold expires, the offer closes unsold
        await sweep_once(app)
        view = await _get(api, aid)
        winner = view["winner"]
        assert (winner["user_id"], winner["amount"], winner["second_chance"]) == (
            await _user_id(api, ada),
            1300,  # the runner-up's own last (highest) bid
            True,
        )
        ada_l, bob_l = listeners["ada"], listeners["bob"]
        await ada_l.wait(lambda: ada_l.events["second_chance"], what="Ada's second chance")
        assert (
            ada_l.events["second_chance"][0]["auction"]["winner"]["reservation_id"]
            == winner["reservation_id"]
        )
        assert bob_l.events["second_chance"] == []  # the notice is Ada's alone
        assert (await api.checkout(cy, first_hold)).status in (404, 409, 410)  # the lapsed hold is gone
        await sweep_once(app)  # a second pass changes nothing while Ada's hold runs
        assert (await _get(api, aid))["winner"]["reservation_id"] == winner["reservation_id"]

        clock.advance(hold_s + 2)  # Ada lets it lapse too: Bob, at his 1200
        await sweep_once(app)
        third = (await _get(api, aid))["winner"]
        assert (third["user_id"], third["amount"]) == (await _user_id(api, bob), 1200)
        await bob_l.wait(lambda: bob_l.events["second_chance"], what="Bob's second chance")
        order = await api.checkout(bob, third["reservation_id"], key=uuid.uuid4().hex)
        assert order.status == 201 and order.body["total"] == 1200
        clock.advance(hold_s + 2)
        await sweep_once(app)  # paid: no further offer
        assert (await _get(api, aid))["winner"]["user_id"] == third["user_id"]
        shelf = await api.call("GET", f"/api/v1/products/{product['id']}", token=host)
        assert shelf.body["stock"] == 2  # one unit sold, the rest on the shelf
    finally:
        for who in listeners.values():
            await who.close()


async def test_the_host_stops_an_auction_now_and_a_page_lists_the_running_one(own_clock_node: Node) -> None:
    app, api, _ = own_clock_node
    host, _, auction = await _setup(api, app)
    aid, bid_on = auction["id"], auction["broadcast_id"]
    listed = await api.call("GET", f"/api/v1/broadcasts/{bid_on}/auctions?status=active")
    assert [a["id"] for a in listed.body["items"]] == [aid]
    assert (await api.call("GET", f"/api/v1/broadcasts/{bid_on}/auctions?status=nope")).status == 422
    assert (await api.call("GET", "/api/v1/broadcasts/bc_nope/auctions")).status == 404
    ada = await api.guest("Ada")
    assert (await _bid(api, ada, aid, 1000)).status == 201
    other = await new_host(app, api)
    assert (await api.call("POST", f"/api/v1/auctions/{aid}/end", token=other)).status == 404
    assert (await api.call("POST", f"/api/v1/auctions/{aid}/end", token=ada)).status == 403
    stopped = await api.call("POST", f"/api/v1/auctions/{aid}/end", token=host)
    assert stopped.status == 200 and stopped.body["status"] == "ended"
    assert stopped.body["winner"]["amount"] == 1000 and stopped.body["winner"]["reservation_id"]
    assert (await _bid(api, ada, aid, 2000)).code == "auction_ended"
    again = await api.call("POST", f"/api/v1/auctions/{aid}/end", token=host)
    assert again.status == 200 and again.body["winner"] == stopped.body["winner"]  # once
    assert (await api.call("GET", f"/api/v1/broadcasts/{bid_on}/auctions?status=active")).body["items"] == []
    ended = await api.call("GET", f"/api/v1/broadcasts/{bid_on}/auctions?status=ended")
    assert [a["id"] for a in ended.body["items"]] == [aid]
