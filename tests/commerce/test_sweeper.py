"""The sweeper (server/commerce/sweeper.py) on a clock the test moves: an offer whose window passed
refuses claims and is ended with its unsold and unpaid units back on the shelf; holds expire on time."""

from __future__ import annotations

import uuid

from aiohttp import web

from server.api.context import INVENTORY, SETTINGS
from server.clock import ShiftedClock
from server.commerce.sweeper import sweep_once
from tests.api_client import Api
from tests.conftest import new_host


async def test_an_offer_past_its_window_is_refused_then_ended_with_its_units_back_on_the_shelf(
    own_clock_node: tuple[web.Application, Api, ShiftedClock],
) -> None:
    app, api, clock = own_clock_node
    host = await new_host(app, api)
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(
        host, broadcast["id"], product["id"], quantity=6, per_buyer_limit=2, duration_s=60
    )
    buyer = await api.guest("late")
    paid = await api.reserve(buyer, offer["id"], 2, key=uuid.uuid4().hex)
    assert (await api.checkout(buyer, paid.body["id"])).status == 201
    unpaid = await api.reserve(await api.guest("slow"), offer["id"], 1, key=uuid.uuid4().hex)
    assert unpaid.status == 201

    clock.advance(30)
    await sweep_once(app)
    assert (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body["status"] == "active"
    clock.advance(31)  # the window closed: Redis refuses claims at once, before any sweep
    late = await api.reserve(await api.guest("too-late"), offer["id"], key=uuid.uuid4().hex)
    assert (late.status, late.code) == (410, "offer_ended")

    await sweep_once(app)
    ended = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (ended["status"], ended["sold"]) == ("ended", 2)
    assert ended["ended_at"] is not None
    shelf = (await api.call("GET", f"/api/v1/products/{product['id']}")).body["stock"]
    assert shelf == 10 - 6 + 4  # the 3 never claimed and the 1 held but unpaid
    assert (
        await app[INVENTORY].active_offers() == [] or offer["id"] not in await app[INVENTORY].active_offers()
    )


async def test_a_hold_lives_exactly_its_hold_time_on_the_clock(
    own_clock_node: tuple[web.Application, Api, ShiftedClock],
) -> None:
    app, api, clock = own_clock_node
    host = await new_host(app, api)
    product = await api.product(host, stock=3)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=3, per_buyer_limit=3)
    buyer = await api.guest("h")
    hold = await api.reserve(buyer, offer["id"], 3, key=uuid.uuid4().hex)
    hold_s = app[SETTINGS].hold_seconds
    assert hold.body["expires_in_ms"] <= hold_s * 1000
    clock.advance(hold_s - 30)
    seen = (await api.call("GET", f"/api/v1/reservations/{hold.body['id']}", token=buyer)).body
    assert seen["status"] == "held" and 0 < seen["expires_in_ms"] <= 30_000
    clock.advance(31)
    await sweep_once(app)
    gone = await api.call("GET", f"/api/v1/reservations/{hold.body['id']}", token=buyer)
    assert (gone.status, gone.code) == (410, "reservation_expired")
    late = await api.checkout(buyer, hold.body["id"])
    assert (late.status, late.code) == (410, "reservation_expired")
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (3, 0, 0)
