"""Stripe end to end over real HTTP: checkout opens a PaymentIntent, the test card pays, the signed
webhook makes the order paid with its units sold; declines keep the hold; refunds give units back."""

from __future__ import annotations

import aiohttp

from server.payments.sandbox import Running
from server.payments.sandbox import stripe as stripe_box
from tests.payments.conftest import (
    Node,
    audit,
    buy,
    offer_of,
    open_shop,
    order_of,
    sandbox_pay,
    settle,
)


async def test_checkout_opens_a_payment_intent_and_the_test_card_pays_it(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 5, price=2500)
    token, r = await buy(stripe_node, shop)
    assert r.status == 201, r.body
    order = r.body
    assert order["status"] == "pending_payment"
    payment = order["payment"]
    assert payment["provider"] == "stripe" and payment["id"].startswith("pi_") and payment["client_secret"]
    intent = stripe.app[stripe_box.STRIPE].intents[payment["id"]]
    assert intent["amount"] == 2500 and intent["currency"] == "usd"
    assert intent["metadata"] == {"order_id": order["id"]}
    assert intent["automatic_payment_methods"] == {"enabled": True}
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"], offer["sold"]) == (4, 1, 0)

    status, _ = await sandbox_pay(http, stripe, payment["client_secret"], "4242 4242 4242 4242")
    assert status == 200
    await settle(http, stripe)
    paid = await order_of(stripe_node, token, order["id"])
    assert paid["status"] == "paid" and paid["payment"]["status"] == "succeeded"
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"], offer["sold"]) == (4, 0, 1)
    report = await audit(stripe_node, shop.host, shop.offer["id"])
    assert report["ok"], report


async def test_a_declined_card_keeps_the_hold_and_another_card_pays(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 2)
    token, r = await buy(stripe_node, shop)
    secret = r.body["payment"]["client_secret"]
    status, body = await sandbox_pay(http, stripe, secret, "4000000000000002")
    assert status == 402 and body["error"]["code"] == "card_declined"
    await settle(http, stripe)
    order = await order_of(stripe_node, token, r.body["id"])
    assert order["status"] == "pending_payment"
    assert order["payment"]["status"] == "failed" and order["payment"]["error"]
    assert (await offer_of(stripe_node, shop.offer["id"]))["held"] == 1
    status, _ = await sandbox_pay(http, stripe, secret, "pm_card_visa")
    assert status == 200
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, r.body["id"]))["status"] == "paid"


async def test_three_d_secure_waits_for_the_bank_then_pays(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 1)
    token, r = await buy(stripe_node, shop)
    status, body = await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4000000000003220")
    assert status == 200 and body["status"] == "requires_action"
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, r.body["id"]))["payment"]["status"] == "requires_action"
    async with http.post(f"{stripe.url}/_sandbox/3ds/{body['id']}", json={"result": "succeed"}) as resp:
        assert resp.status == 200
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, r.body["id"]))["status"] == "paid"


async def test_the_host_refunds_a_paid_order_and_the_units_return(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 3)
    _, r = await buy(stripe_node, shop)
    await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    await settle(http, stripe)
    refund = await stripe_node.api.call(
        "POST", f"/api/v1/orders/{r.body['id']}/refund", token=shop.host, json={"reason": "damaged"}
    )
    assert refund.status == 200, refund.body
    assert refund.body["status"] == "refunded" and "client_secret" not in refund.body["payment"]
    refunds = list(stripe.app[stripe_box.STRIPE].refunds.values())
    assert [x["amount"] for x in refunds if x["payment_intent"] == r.body["payment"]["id"]] == [2500]
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"], offer["sold"]) == (3, 0, 0)
    again = await stripe_node.api.call("POST", f"/api/v1/orders/{r.body['id']}/refund", token=shop.host)
    assert again.status == 200 and again.body["status"] == "refunded"
    assert (
        len(
            [
                x
                for x in stripe.app[stripe_box.STRIPE].refunds.values()
                if x["payment_intent"] == r.body["payment"]["id"]
            ]
        )
        == 1
    )
    report = await audit(stripe_node, shop.host, shop.offer["id"])
    assert report["ok"], report


async def test_paid_refunded_and_fulfilled_orders_reach_the_outbox_for_the_mirror(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    from sqlalchemy import select

    from server.api.context import DB
    from server.db.outbox import OutboxEvent

    shop = await open_shop(stripe_node, 3)
    _, first = await buy(stripe_node, shop)
    _, second = await buy(stripe_node, shop)
    for r in (first, second):
        await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    await settle(http, stripe)
    api = stripe_node.api
    assert (
        await api.call("POST", f"/api/v1/orders/{first.body['id']}/refund", token=shop.host)
    ).status == 200
    assert (
        await api.call("POST", f"/api/v1/orders/{second.body['id']}/fulfil", token=shop.host)
    ).status == 200
    async with stripe_node.app[DB]() as session:
        rows = (
            await session.execute(
                select(OutboxEvent.topic, OutboxEvent.payload).where(OutboxEvent.key == shop.product["sku"])
            )
        ).all()
    topics = [(t, p.get("id")) for t, p in rows if t.startswith("order.")]
    assert sorted(topics) == sorted(
        [
            ("order.created", first.body["id"]),
            ("order.created", second.body["id"]),
            ("order.paid", first.body["id"]),
            ("order.paid", second.body["id"]),
            ("order.refunded", first.body["id"]),
            ("order.fulfilled", second.body["id"]),
        ]
    )
    paid = [p for t, p in rows if t == "order.paid"]
    assert all(
        p["items"][0]["unit_price"] == 2500 and "client_secret" not in (p["payment"] or {}) for p in paid
    )
    stock_changes = [t for t, _ in rows if t == "stock.changed"]
    assert len(stock_changes) == 4  # the offer taking its units, two sales, one refund: platforms follow each
