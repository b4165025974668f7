"""Live coupons when the shop takes money online: the provider is asked for the discounted total, an
order the coupon makes free is confirmed with nothing to pay, and a payment that never comes gives
the redemption back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import aiohttp

from server.db.base import utcnow
from server.payments import PAYMENTS_STATE
from server.payments.sandbox import Running
from server.payments.sandbox import stripe as stripe_box
from tests.commerce.coupons import checkout, coupon, coupons_of, hold
from tests.payments.conftest import Node, open_shop, order_of, sandbox_pay, settle, viewer


async def test_the_payment_is_for_the_discounted_total_and_a_paid_order_keeps_its_use(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 5, price=2500)
    c = await coupon(stripe_node.api, shop.host, shop.broadcast["id"], percent_off=30, max_uses=2)
    token = viewer(stripe_node.app)
    r = await checkout(
        stripe_node.api, token, await hold(stripe_node.api, token, shop.offer["id"]), c["code"]
    )
    assert r.status == 201 and r.body["status"] == "pending_payment", r.body
    assert (r.body["total"], r.body["discount"], r.body["payment"]["amount"]) == (1750, 750, 1750)
    assert stripe.app[stripe_box.STRIPE].intents[r.body["payment"]["id"]]["amount"] == 1750
    status, _ = await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    assert status == 200
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, r.body["id"]))["status"] == "paid"
    assert (await coupons_of(stripe_node.api, shop.host, shop.broadcast["id"]))[c["code"]]["uses"] == 1


async def test_an_order_the_coupon_makes_free_is_confirmed_without_a_payment(
    stripe_node: Node, stripe: Running
) -> None:
    shop = await open_shop(stripe_node, 5, price=2500)
    c = await coupon(stripe_node.api, shop.host, shop.broadcast["id"], percent_off=100)
    token = viewer(stripe_node.app)
    r = await checkout(
        stripe_node.api, token, await hold(stripe_node.api, token, shop.offer["id"]), c["code"]
    )
    assert r.status == 201, r.body
    assert (r.body["status"], r.body["total"], r.body["payment"]) == ("confirmed", 0, None)
    offer = (await stripe_node.api.call("GET", f"/api/v1/offers/{shop.offer['id']}")).body
    assert (offer["sold"], offer["held"]) == (1, 0)


async def test_a_declined_payment_that_never_comes_gives_the_redemption_back(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 5, price=2500)
    c = await coupon(stripe_node.api, shop.host, shop.broadcast["id"], percent_off=10, max_uses=1)
    first, second = viewer(stripe_node.app), viewer(stripe_node.app)
    r = await checkout(
        stripe_node.api, first, await hold(stripe_node.api, first, shop.offer["id"]), c["code"]
    )
    assert r.status == 201 and r.body["payment"]["amount"] == 2250
    status, _ = await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4000000000000002")
    assert status != 200  # declined: the order waits for another card, the use stays counted
    second_hold = await hold(stripe_node.api, second, shop.offer["id"])
    waiting = await checkout(stripe_node.api, second, second_hold, c["code"])
    assert waiting.code == "coupon_used_up"  # the hold stays: the buyer may wait, or pay in full
    await stripe_node.app[PAYMENTS_STATE].reconciler.once(now=utcnow() + timedelta(seconds=601))
    assert (await order_of(stripe_node, first, r.body["id"]))["status"] == "canceled"
    listed = (await coupons_of(stripe_node.api, shop.host, shop.broadcast["id"]))[c["code"]]
    assert (listed["uses"], listed["uses_left"]) == (0, 1)
    again = await checkout(stripe_node.api, second, second_hold, c["code"], key=uuid.uuid4().hex)
    assert again.status == 201 and again.body["discount"] == 250
