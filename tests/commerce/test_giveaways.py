"""Giveaways (server/commerce/giveaways) over real HTTP, Redis and PostgreSQL: the flow and its stable
refusals, one entry per person under 300 concurrent entries, buyers-only, the frozen list's hash and
the seed published before the draw, a draw anyone can re-check, and the winner's zero-price order."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from server.api.context import DB, INVENTORY
from server.commerce.giveaways import fairness
from server.commerce.giveaways.models import GiveawayEntry
from server.inventory.audit import run_audit
from server.inventory.models import Offer
from tests.api_client import Api, Reply
from tests.conftest import new_host

Node = tuple[web.Application, TestServer]


async def _start(api: Api, host: str, broadcast_id: str, product_id: str, **extra: Any) -> Reply:
    body = {"product_id": product_id, **extra}
    return await api.call("POST", f"/api/v1/broadcasts/{broadcast_id}/giveaways", token=host, json=body)


async def _enter(api: Api, token: str | None, giveaway_id: str) -> Reply:
    return await api.call("POST", f"/api/v1/giveaways/{giveaway_id}/entries", token=token)


async def _act(api: Api, host: str, giveaway_id: str, action: str) -> Reply:
    return await api.call("POST", f"/api/v1/giveaways/{giveaway_id}/{action}", token=host)


async def _get(api: Api, giveaway_id: str) -> dict[str, Any]:
    r = await api.call("GET", f"/api/v1/giveaways/{giveaway_id}")
    assert r.status == 200, r.body
    return dict(r.body)


async def _stock(api: Api, host: str, product_id: str) -> int:
    return int((await api.call("GET", f"/api/v1/products/{product_id}", token=host)).body["stock"])


async def test_a_giveaway_from_start_to_a_checkable_draw_and_the_winners_free_order(
    node: Node, api: Api, tmp_path: Path
) -> None:
    app, _ = node
    host = await new_host(app, api)
    product = await api.product(host, stock=3)
    broadcast = await api.broadcast(host)
    started = await _start(api, host, broadcast["id"], product["id"])
    assert started.status == 201, started.body
    g = started.body
    assert (g["status"], g["entrant_count"], g["entrants_hash"], g["seed"], g["winner"]) == (
        "open",
        0,
        None,
        None,
        None,
    )
    assert len(g["seed_commitment"]) == 64  # committed before anyone could enter
    assert await _stock(api, host, product["id"]) == 2  # the prize unit left the shelf
    gid = g["id"]

    guests = {name: await api.guest(name) for name in ("Ada", "Bob", "Cy", "Di")}
    first = await _enter(api, guests["Ada"], gid)
    assert first.status == 201 and first.body["new"] is True
    again = await _enter(api, guests["Ada"], gid)  # a repeat is not a second entry
    assert again.status == 200 and again.body["entry"] == first.body["entry"] and again.body["new"] is False
    for name in ("Bob", "Cy", "Di"):
        assert (await _enter(api, guests[name], gid)).status == 201
    assert (await _get(api, gid))["entrant_count"] == 4

    # refusals: stable codes, nothing changed
    assert (await _enter(api, None, gid)).status == 401
    own = await _enter(api, host, gid)
    assert (own.status, own.code) == (403, "forbidden")
    early = await _act(api, host, gid, "draw")
    assert (early.status, early.code) == (409, "giveaway_open")
    stranger = await new_host(app, api)
    for action in ("close", "draw", "cancel"):
        assert (await _act(api, stranger, gid, action)).status == 404
    assert (await api.call("GET", "/api/v1/giveaways/gw_nothing")).status == 404
    assert (await _enter(api, guests["Ada"], "gw_nothing")).status == 404

    closed = await _act(api, host, gid, "close")
    assert closed.status == 200, closed.body
    frozen = closed.body
    ids = [e["user_id"] for e in frozen["entrants"]]
    assert frozen["status"] == "closed" and frozen["entrant_count"] == 4 and len(set(ids)) == 4
    assert frozen["entrants_hash"] == fairness.entrants_hash(ids)
    assert frozen["seed"] is None and frozen["seed_commitment"] == g["seed_commitment"]
    late = await _enter(api, await api.guest("Late"), gid)
    assert (late.status, late.code) == (409, "giveaway_closed")
    twice = await _act(api, host, gid, "close")
    assert (twice.status, twice.code) == (409, "giveaway_closed")

    drawn = await _act(api, host, gid, "draw")
    assert drawn.status == 200, drawn.body
    view = drawn.body
    assert view["status"] == "drawn" and view["entrants_hash"] == frozen["entrants_hash"]
    assert [e["user_id"] for e in view["entrants"]] == ids  # the list did not move
    winner = view["winner"]
    assert fairness.verify_view(view) == winner["user_id"] == ids[winner["index"]]
    again_drawn = await _act(api, host, gid, "draw")
    assert (again_drawn.status, again_drawn.code) == (409, "giveaway_drawn")
    assert (await _act(api, host, gid, "cancel")).code == "giveaway_drawn"

    # anyone can re-check the published answer with the shipped command
    published = tmp_path / "giveaway.json"
    published.write_text(json.dumps(await _get(api, gid)))
    assert fairness.main([str(published)]) == 0
    tampered = await _get(api, gid)
    tampered["entrants"].reverse()
    published.write_text(json.dumps(tampered))
    assert fairness.main([str(published)]) == 1

    # the winner's zero-price order, visible to the winner; the unit came from the giveaway, not the shelf
    name = next(n for n in guests if n == winner["nickname"])
    order = await api.call("GET", f"/api/v1/orders/{winner['order_id']}", token=guests[name])
    assert order.status == 200, order.body
    assert (order.body["status"], order.body["total"], order.body["items"][0]["quantity"]) == (
        "confirmed",
        0,
        1,
    )
    assert order.body["items"][0]["product_id"] == product["id"]
    other = next(t for n, t in guests.items() if n != name)
    assert (await api.call("GET", f"/api/v1/orders/{winner['order_id']}", token=other)).status == 404
    assert await _stock(api, host, product["id"]) == 2
    async with app[DB]() as session:
        offer = await session.get(Offer, order.body["offer_id"])
    assert offer is not None and (offer.quantity, offer.price) == (1, 0)
    stats = await api.call("GET", f"/api/v1/offers/{offer.id}", token=host)
    assert stats.status == 200 and stats.body["sold"] == 1 and stats.body["available"] == 0
    assert stats.body["status"] == "ended"  # the prize offer ends with its sale: nobody else can claim it
    grab = await api.reserve(other, offer.id)
    assert grab.status in (409, 410) and grab.code in ("offer_ended", "sold_out"), grab.body
    assert await _stock(api, host, product["id"]) == 2  # nothing went back to the shelf
    audit = await run_audit(app[DB], app[INVENTORY], [offer.id])  # the prize's books add up
    assert audit.ok, audit.as_dict()


async def test_bad_starts_are_refused_with_stable_codes(node: Node, api: Api) -> None:
    app, _ = node
    host = await new_host(app, api)
    product = await api.product(host, stock=1)
    broadcast = await api.broadcast(host)
    other = await new_host(app, api)
    theirs = await api.product(other, stock=5)
    their_broadcast = await api.broadcast(other)
    assert (await _start(api, host, "br_nothing", product["id"])).status == 404
    assert (await _start(api, host, their_broadcast["id"], product["id"])).status == 404
    foreign = await _start(api, host, broadcast["id"], theirs["id"])
    assert (foreign.status, foreign.code) == (404, "not_found")
    for bad in ({"keyword": "two words"}, {"keyword": ""}, {"keyword": "x" * 40}, {"buyers_only": "yes"}):
        r = await _start(api, host, broadcast["id"], product["id"], **bad)
        assert (r.status, r.code) == (422, "validation_error"), (bad, r.body)
    viewer = await api.guest("Vi")
    assert (await _start(api, viewer, broadcast["id"], product["id"])).status == 403
    assert (await _start(api, host, broadcast["id"], product["id"])).status == 201
    empty = await _start(api, host, broadcast["id"], product["id"])  # the one unit is promised already
    assert (empty.status, empty.code) == (409, "insufficient_stock")


async def test_300_concurrent_entries_with_repeats_make_one_entry_per_person(node: Node, api: Api) -> None:
    app, _ = node
    host = await new_host(app, api)
    product = await api.product(host, stock=1)
    broadcast = await api.broadcast(host)
    gid = (await _start(api, host, broadcast["id"], product["id"])).body["id"]
    people = [await api.guest(f"p{i}") for i in range(200)]
    attempts = people + random.Random(14).sample(people, 100)  # 100 of them press twice
    random.Random(7).shuffle(attempts)
    replies = await asyncio.wait_for(asyncio.gather(*(_enter(api, t, gid) for t in attempts)), 60)
    assert all(r.status in (200, 201) for r in replies), {r.status: r.body for r in replies}
    assert sum(r.status == 201 for r in replies) == 200
    by_person: dict[str, set[int]] = {}
    for r in replies:
        by_person.setdefault(r.body["user_id"], set()).add(r.body["entry"])
    assert len(by_person) == 200 and all(len(v) == 1 for v in by_person.values())  # one number each
    async with app[DB]() as session:
        rows = await session.scalar(
            select(func.count()).select_from(GiveawayEntry).where(GiveawayEntry.giveaway_id == gid)
        )
        numbers = (
            await session.execute(select(GiveawayEntry.seq).where(GiveawayEntry.giveaway_id == gid))
        ).all()
    assert rows == 200 and sorted(n for (n,) in numbers) == list(range(1, 201))
    closed = (await _act(api, host, gid, "close")).body
    assert closed["entrant_count"] == 200 and len(closed["entrants"]) == 200
    drawn = (await _act(api, host, gid, "draw")).body
    assert fairness.verify_view(drawn) == drawn["winner"]["user_id"]


async def test_buyers_only_admits_only_this_broadcasts_buyers(node: Node, api: Api) -> None:
    app, _ = node
    host = await new_host(app, api)
    prize = await api.product(host, stock=1)
    goods = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    elsewhere = await api.broadcast(host, title="Another show")
    offer = await api.offer(host, broadcast["id"], goods["id"], 5)
    other_offer = await api.offer(host, elsewhere["id"], goods["id"], 5)
    buyer, holder, outsider, browser = [
        await api.guest(n) for n in ("Buyer", "Holder", "Outsider", "Browser")
    ]
    hold = (await api.reserve(buyer, offer["id"])).body["id"]
    assert (await api.checkout(buyer, hold)).status == 201
    assert (await api.reserve(holder, offer["id"])).status == 201  # a hold is not a purchase
    other_hold = (await api.reserve(outsider, other_offer["id"])).body["id"]
    assert (await api.checkout(outsider, other_hold)).status == 201  # bought, but in another broadcast
    gid = (await _start(api, host, broadcast["id"], prize["id"], buyers_only=True)).body["id"]
    assert (await _get(api, gid))["buyers_only"] is True
    assert (await _enter(api, buyer, gid)).status == 201
    for token in (holder, outsider, browser):
        r = await _enter(api, token, gid)
        assert (r.status, r.code) == (403, "buyers_only")
    assert (await _get(api, gid))["entrant_count"] == 1


async def test_nobody_entered_the_draw_refuses_and_a_cancel_restocks_the_unit(node: Node, api: Api) -> None:
    app, _ = node
    host = await new_host(app, api)
    product = await api.product(host, stock=1)
    broadcast = await api.broadcast(host)
    gid = (await _start(api, host, broadcast["id"], product["id"])).body["id"]
    assert await _stock(api, host, product["id"]) == 0
    closed = (await _act(api, host, gid, "close")).body
    assert closed["entrant_count"] == 0 and closed["entrants"] == []
    assert closed["entrants_hash"] == fairness.entrants_hash([])
    empty = await _act(api, host, gid, "draw")
    assert (empty.status, empty.code) == (409, "no_entrants")
    canceled = await _act(api, host, gid, "cancel")
    assert canceled.status == 200 and canceled.body["status"] == "canceled"
    assert await _stock(api, host, product["id"]) == 1
    assert (await _act(api, host, gid, "cancel")).code == "giveaway_closed"
    assert (await _act(api, host, gid, "draw")).code == "giveaway_closed"
    listed = await api.call("GET", f"/api/v1/broadcasts/{broadcast['id']}/giveaways")
    assert [i["id"] for i in listed.body["items"]] == [gid]


async def test_a_close_during_a_rush_freezes_exactly_the_acknowledged_entries(node: Node, api: Api) -> None:
    """Entries in flight when the host closes: each is either acknowledged and in the frozen list, or
    refused with giveaway_closed and not in it; the hash covers exactly the acknowledged ones."""
    app, _ = node
    host = await new_host(app, api)
    product = await api.product(host, stock=1)
    broadcast = await api.broadcast(host)
    gid = (await _start(api, host, broadcast["id"], product["id"])).body["id"]
    people = [await api.guest(f"r{i}") for i in range(150)]

    async def close_midway() -> Reply:
        await asyncio.sleep(0.05)
        return await _act(api, host, gid, "close")

    *replies, closed = await asyncio.wait_for(
        asyncio.gather(*(_enter(api, t, gid) for t in people), close_midway()), 60
    )
    assert closed.status == 200, closed.body
    acknowledged = {r.body["user_id"] for r in replies if r.status == 201}
    refused = [r for r in replies if r.status != 201]
    assert all((r.status, r.code) == (409, "giveaway_closed") for r in refused), [r.body for r in refused]
    frozen = [e["user_id"] for e in closed.body["entrants"]]
    assert set(frozen) == acknowledged and len(frozen) == len(acknowledged)
    assert closed.body["entrants_hash"] == fairness.entrants_hash(frozen)
    assert (await _get(api, gid))["entrants"] == closed.body["entrants"]


async def test_a_forgotten_buyer_loses_their_name_in_giveaways_and_the_draw_still_checks(
    node: Node, api: Api
) -> None:
    app, _ = node
    host = await new_host(app, api)
    prize = await api.product(host, stock=1)
    goods = await api.product(host, stock=5)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], goods["id"], 5)
    ada = await api.guest("Ada")
    hold = (await api.reserve(ada, offer["id"])).body["id"]
    assert (await api.checkout(ada, hold)).status == 201  # the shop knows Ada by the email on this order
    gid = (await _start(api, host, broadcast["id"], prize["id"])).body["id"]
    assert (await _enter(api, ada, gid)).status == 201
    assert (await _act(api, host, gid, "close")).status == 200
    drawn = (await _act(api, host, gid, "draw")).body
    assert drawn["winner"]["nickname"] == "Ada"
    erased = await api.call("POST", "/api/v1/privacy/erase", token=host, json={"email": "buyer@example.com"})
    assert erased.status == 200, erased.body

    async def scrubbed() -> dict[str, Any]:
        for _ in range(100):
            view = await _get(api, gid)
            if view["winner"]["nickname"] == "erased":
                return view
            await asyncio.sleep(0.05)
        raise AssertionError("the winner's name was not erased")

    view = await scrubbed()
    assert [e["nickname"] for e in view["entrants"]] == ["erased"]
    assert fairness.verify_view(view) == drawn["winner"]["user_id"]  # ids stay: the draw still checks
    order = await api.call("GET", f"/api/v1/orders/{drawn['winner']['order_id']}", token=host)
    assert order.body["buyer"]["name"] == "erased"
