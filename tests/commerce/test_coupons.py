"""Live coupons (server/commerce/coupons.py, server/inventory/coupons.py): created by the host, applied at
checkout net of the order total, counted atomically in Redis, refused with stable codes, given back
when a checkout fails, rebuilt from PostgreSQL when Redis loses them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import update

from server.api.context import DB, REDIS
from server.clock import ShiftedClock
from server.commerce.coupons import COUPON_BOOK
from server.commerce.models import Coupon
from server.inventory import sale
from server.inventory.keys import coupon_keys
from server.inventory.models import Order
from tests.api_client import Api
from tests.commerce.coupons import checkout, coupon, coupons_of, hold, viewer
from tests.conftest import new_host


async def _shop(api: Api, host: str, quantity: int = 20, limit: int = 5, price: int = 999) -> dict[str, Any]:
    product = await api.product(host, stock=quantity + 10)
    b = await api.broadcast(host)
    offer = await api.offer(host, b["id"], product["id"], quantity, per_buyer_limit=limit, price=price)
    return {"broadcast": b, "product": product, "offer": offer}


async def test_a_percent_coupon_takes_its_share_off_the_total_and_the_order_records_it(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    shop = await _shop(api, host)
    c = await coupon(api, host, shop["broadcast"]["id"], code="save15", percent_off=15, max_uses=3)
    assert (c["code"], c["uses_left"], c["status"]) == ("SAVE15", 3, "active")
    buyer = viewer(node[0])
    r = await checkout(api, buyer, await hold(api, buyer, shop["offer"]["id"], 2), "Save15")
    assert r.status == 201, r.body
    # 2 x 999 = 1998; 15% = 299.7, rounded down: the buyer never gets more than the coupon says
    assert (r.body["subtotal"], r.body["discount"], r.body["total"]) == (1998, 299, 1699)
    assert r.body["coupon"] == "SAVE15" and r.body["status"] == "confirmed"
    again = await api.call("GET", f"/api/v1/orders/{r.body['id']}", token=buyer)
    assert (again.body["discount"], again.body["total"], again.body["coupon"]) == (299, 1699, "SAVE15")
    listed = (await coupons_of(api, host, shop["broadcast"]["id"]))["SAVE15"]
    assert (listed["uses"], listed["uses_left"]) == (1, 2)


async def test_an_amount_coupon_never_takes_an_order_below_zero(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    shop = await _shop(api, host)
    c = await coupon(api, host, shop["broadcast"]["id"], amount_off=5000, currency="USD")
    buyer = viewer(node[0])
    r = await checkout(api, buyer, await hold(api, buyer, shop["offer"]["id"]), c["code"])
    assert r.status == 201, r.body
    assert (r.body["subtotal"], r.body["discount"], r.body["total"]) == (999, 999, 0)
    small = await coupon(api, host, shop["broadcast"]["id"], amount_off=100, currency="USD")
    r = await checkout(api, buyer, await hold(api, buyer, shop["offer"]["id"]), small["code"])
    assert (r.body["discount"], r.body["total"]) == (100, 899)
    other_money = await coupon(api, host, shop["broadcast"]["id"], amount_off=100, currency="EUR")
    r = await checkout(api, buyer, await hold(api, buyer, shop["offer"]["id"]), other_money["code"])
    assert (r.status, r.code) == (422, "coupon_not_applicable")


async def test_refusals_carry_stable_codes_and_the_hold_still_checks_out_at_full_price(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    shop = await _shop(api, host)
    bid = shop["broadcast"]["id"]
    elsewhere = await api.broadcast(host)
    theirs = await coupon(api, host, elsewhere["id"])
    once = await coupon(api, host, bid, max_uses=1)
    twice = await coupon(api, host, bid, max_uses=10, max_per_buyer=1)
    ended = await coupon(api, host, bid)
    r = await api.call("DELETE", f"/api/v1/broadcasts/{bid}/coupons/{ended['code'].lower()}", token=host)
    assert r.status == 200 and r.body["status"] == "ended" and r.body["uses_left"] == 0
    first, buyer = viewer(node[0]), viewer(node[0])
    assert (
        await checkout(api, first, await hold(api, first, shop["offer"]["id"]), once["code"])
    ).status == 201
    assert (
        await checkout(api, buyer, await hold(api, buyer, shop["offer"]["id"]), twice["code"])
    ).status == 201
    held = await hold(api, buyer, shop["offer"]["id"])
    for code, expected in (
        ("NOSUCHCODE", (404, "coupon_unknown")),
        (theirs["code"], (422, "coupon_not_applicable")),
        (once["code"], (409, "coupon_used_up")),
        (twice["code"], (409, "coupon_limit_exceeded")),
        (ended["code"], (410, "coupon_expired")),
    ):
        r = await checkout(api, buyer, held, code)
        assert (r.status, r.code) == expected, (code, r.body)
        assert r.body["field"] == "coupon" if "field" in r.body else True
    full = await checkout(api, buyer, held, None)
    assert full.status == 201 and (full.body["discount"], full.body["total"]) == (0, 999)
    counts = await coupons_of(api, host, bid)
    assert counts[once["code"]]["uses"] == 1 and counts[twice["code"]]["uses"] == 1


async def test_a_retried_checkout_counts_once(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    shop = await _shop(api, host)
    c = await coupon(api, host, shop["broadcast"]["id"], max_uses=5)
    buyer = viewer(node[0])
    held = await hold(api, buyer, shop["offer"]["id"])
    answers = await asyncio.gather(*(checkout(api, buyer, held, c["code"], key="same") for _ in range(5)))
    assert {a.status for a in answers} == {201} and len({a.body["id"] for a in answers}) == 1
    assert (await coupons_of(api, host, shop["broadcast"]["id"]))[c["code"]]["uses"] == 1


async def test_a_checkout_that_fails_after_redeeming_gives_the_use_back(
    api: Api, host: str, node: tuple[web.Application, TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await _shop(api, host)
    c = await coupon(api, host, shop["broadcast"]["id"], max_uses=1)
    buyer = viewer(node[0])
    held = await hold(api, buyer, shop["offer"]["id"])

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise OSError("PostgreSQL went away mid-write")

    monkeypatch.setattr(sale, "record_sale", lost)
    r = await checkout(api, buyer, held, c["code"])
    monkeypatch.undo()
    assert (r.status, r.code) == (503, "service_unavailable")
    assert (await coupons_of(api, host, shop["broadcast"]["id"]))[c["code"]]["uses"] == 0
    again = await checkout(api, buyer, held, c["code"])
    assert again.status == 201 and again.body["discount"] == 99


async def test_the_host_creates_lists_and_ends_coupons_and_bad_input_is_refused(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    shop = await _shop(api, host)
    bid = shop["broadcast"]["id"]
    path = f"/api/v1/broadcasts/{bid}/coupons"
    good = {"code": "NIGHT", "percent_off": 20, "max_uses": 50, "duration_s": 900}
    for bad in (
        {**good, "amount_off": 100, "currency": "USD"},  # both kinds
        {k: v for k, v in good.items() if k != "percent_off"},  # neither
        {**good, "percent_off": 0},
        {**good, "percent_off": 101},
        {**good, "percent_off": "20"},
        {k: v for k, v in {**good, "amount_off": -5}.items() if k != "percent_off"},
        {k: v for k, v in {**good, "amount_off": 500}.items() if k != "percent_off"},  # no currency
        {**good, "expires_at": "2030-01-01T00:00:00Z"},  # both ends
        {**good, "duration_s": None},
        {**good, "max_uses": 0},
        {**good, "max_uses": 10**12},
        {**good, "code": "no spaces"},
        {**good, "code": "x" * 40},
        {**good, "unknown": 1},
    ):
        r = await api.call("POST", path, token=host, json=bad)
        assert (r.status, r.code) == (422, "validation_error"), (bad, r.body)
    past = {**{k: v for k, v in good.items() if k != "duration_s"}, "expires_at": "2020-01-01T00:00:00+00:00"}
    assert (await api.call("POST", path, token=host, json=past)).code == "validation_error"
    at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = await api.call("POST", path, token=host, json={**past, "expires_at": at})
    assert made.status == 201 and made.body["expires_at"].startswith(at[:16])
    twin = await api.call("POST", path, token=host, json={**good, "code": "night"})
    assert (twin.status, twin.code) == (409, "coupon_exists")
    assert (await api.call("POST", path, json=good)).status == 401
    assert (await api.call("POST", path, token=viewer(node[0]), json=good)).status == 403
    stranger = await new_host(node[0], api)
    assert (await api.call("POST", path, token=stranger, json=good)).status == 404
    assert (await api.call("GET", path, token=stranger)).status == 404
    assert (await api.call("DELETE", f"{path}/NIGHT", token=stranger)).status == 404
    assert (await api.call("DELETE", f"{path}/NOPE", token=host)).status == 404
    ended = await api.call("DELETE", f"{path}/NIGHT", token=host)
    assert ended.status == 200 and ended.body["status"] == "ended"
    again = await api.call("POST", path, token=host, json=good)  # an ended code may run again
    assert again.status == 201 and again.body["id"] != made.body["id"]
    view = await api.call("GET", f"/api/v1/broadcasts/{bid}")
    assert [c["code"] for c in view.body["coupons"]] == ["NIGHT"]


async def test_lost_counters_are_rebuilt_from_the_orders_that_stand(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    shop = await _shop(api, host)
    c = await coupon(api, host, shop["broadcast"]["id"], max_uses=3, max_per_buyer=2)
    buyer = viewer(app)
    for _ in range(2):
        assert (
            await checkout(api, buyer, await hold(api, buyer, shop["offer"]["id"]), c["code"])
        ).status == 201
    await app[REDIS].delete(*coupon_keys(c["id"]))
    assert (await coupons_of(api, host, shop["broadcast"]["id"]))[c["code"]]["uses"] == 2
    r = await checkout(api, buyer, await hold(api, buyer, shop["offer"]["id"]), c["code"])
    assert r.code == "coupon_limit_exceeded"  # the buyer's two uses came back with the rebuild
    other = viewer(app)
    assert (await checkout(api, other, await hold(api, other, shop["offer"]["id"]), c["code"])).status == 201
    assert app[COUPON_BOOK].stats["rebuilds"] >= 1


async def test_a_coupon_expires_on_the_injected_clock(
    own_clock_node: tuple[web.Application, Api, ShiftedClock],
) -> None:
    app, api, clock = own_clock_node
    host = await new_host(app, api)
    shop = await _shop(api, host)
    c = await coupon(api, host, shop["broadcast"]["id"], duration_s=60)
    buyer = viewer(app)
    early = await hold(api, buyer, shop["offer"]["id"])
    late = await hold(api, buyer, shop["offer"]["id"])
    assert (await checkout(api, buyer, early, c["code"])).status == 201
    clock.advance(61)
    r = await checkout(api, buyer, late, c["code"])
    assert (r.status, r.code) == (410, "coupon_expired")
    # the atomic step reads the same clock: Redis alone refuses it too
    redeemed = await app[COUPON_BOOK].redeem(c["id"], "of_x." + uuid.uuid4().hex[:8], "us_someone")
    assert redeemed.code == "expired"
    view = await api.call("GET", f"/api/v1/broadcasts/{shop['broadcast']['id']}")
    assert view.body["coupons"] == []


async def test_one_buyer_racing_six_checkouts_redeems_only_their_share(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    shop = await _shop(api, host, quantity=10, limit=6)
    c = await coupon(api, host, shop["broadcast"]["id"], max_uses=100, max_per_buyer=2)
    buyer = viewer(node[0])
    holds = [await hold(api, buyer, shop["offer"]["id"]) for _ in range(6)]
    answers = await asyncio.gather(*(checkout(api, buyer, h, c["code"]) for h in holds))
    codes = sorted(str(a.status if a.status == 201 else a.code) for a in answers)
    assert codes == ["201", "201"] + ["coupon_limit_exceeded"] * 4, [a.body for a in answers]
    assert (await coupons_of(api, host, shop["broadcast"]["id"]))[c["code"]]["uses"] == 2


RUSH = 1000
CAP = 100
CONCURRENCY = 100
RETRIES = 20


@pytest.mark.slow
async def test_rush_of_1000_checkouts_redeems_exactly_the_cap_and_the_discounts_add_up(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    shop = await _shop(api, host, quantity=RUSH, limit=1, price=2500)
    c = await coupon(api, host, shop["broadcast"]["id"], percent_off=20, max_uses=CAP)
    buyers = [viewer(app) for _ in range(RUSH)]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def hold_one(token: str) -> str:
        async with gate:
            return await hold(api, token, shop["offer"]["id"])

    holds = await asyncio.wait_for(asyncio.gather(*(hold_one(t) for t in buyers)), 240)
    refused: list[str] = []

    async def patient(token: str, held: str, code: str | None) -> Any:
        """A checkout as the page sends it: a 503 ("retry shortly") is retried with the same key."""
        key = uuid.uuid4().hex
        for _ in range(RETRIES):
            r = await checkout(api, token, held, code, key=key)
            if r.status != 503:
                return r
            await asyncio.sleep(0.2)
        return r

    async def buy(token: str, held: str) -> dict[str, Any]:
        async with gate:
            r = await patient(token, held, c["code"])
            if r.status == 201:
                return dict(r.body)
            refused.append(str(r.code))
            # what the checkout sheet offers next: the same hold at full price
            full = await patient(token, held, None)
            assert full.status == 201, full.body
            return dict(full.body)

    orders = await asyncio.wait_for(
        asyncio.gather(*(buy(t, h) for t, h in zip(buyers, holds, strict=True))), 300
    )
    discounted = [o for o in orders if o["coupon"] == c["code"]]
    assert len(discounted) == CAP
    assert refused == ["coupon_used_up"] * (RUSH - CAP)
    assert {o["discount"] for o in discounted} == {500}
    assert sum(o["discount"] for o in orders) == CAP * 500
    assert sum(o["total"] for o in orders) == RUSH * 2500 - CAP * 500
    listed = (await coupons_of(api, host, shop["broadcast"]["id"]))[c["code"]]
    assert (listed["uses"], listed["uses_left"]) == (CAP, 0)
    state = (await api.call("GET", f"/api/v1/offers/{shop['offer']['id']}")).body
    assert (state["sold"], state["held"], state["available"]) == (RUSH, 0, 0)


async def test_the_audit_checks_coupon_caps_and_discounted_totals(
    api: Api, host: str, node: tuple[web.Application, TestServer]
) -> None:
    app = node[0]
    shop = await _shop(api, host)
    c = await coupon(api, host, shop["broadcast"]["id"], max_uses=2, max_per_buyer=1)
    first, second = viewer(app), viewer(app)
    for buyer in (first, second):
        assert (
            await checkout(api, buyer, await hold(api, buyer, shop["offer"]["id"]), c["code"])
        ).status == 201
    path = f"/api/v1/audit?offer_id={shop['offer']['id']}"
    report = (await api.call("GET", path, token=host)).body
    assert report["ok"], report
    # what the audit exists for: a store that no longer adds up (here: edited behind the API's back)
    async with app[DB]() as session, session.begin():
        await session.execute(
            update(Order).where(Order.coupon_id == c["id"]).values(discount=Order.discount + 1)
        )
        await session.execute(update(Coupon).where(Coupon.id == c["id"]).values(max_uses=1))
    report = (await api.call("GET", path, token=host)).body
    assert not report["ok"]
    text = str(report)
    assert f"coupon {c['code']} stands on 2 orders, over its 1" in text and "less" in text
