"""The Stripe webhook: its signature (checked against the stripe library's own verifier), forged and
stale signatures, duplicate, reordered and lost events, amounts that do not match, paying twice."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import aiohttp
import pytest
import stripe as stripe_lib

from server.api.context import DB
from server.db.base import utcnow
from server.inventory.models import Order
from server.payments import PAYMENTS_STATE
from server.payments.models import Payment, PaymentEvent
from server.payments.sandbox import Running
from server.payments.sandbox import stripe as stripe_box
from server.payments.signing import stripe_signature, stripe_verified
from tests.payments.conftest import Node, audit, buy, offer_of, open_shop, order_of, sandbox_pay, settle

HOOK = "/api/v1/webhooks/stripe"


def test_our_signature_is_what_the_stripe_library_verifies() -> None:
    body = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}}).encode()
    header = stripe_signature("whsec_test", body)
    event = stripe_lib.Webhook.construct_event(body, header, "whsec_test")
    assert event["id"] == "evt_1"
    with pytest.raises(stripe_lib.SignatureVerificationError):
        stripe_lib.Webhook.construct_event(body, stripe_signature("whsec_other", body), "whsec_test")
    old = stripe_signature("whsec_test", body, int(time.time()) - 301)
    with pytest.raises(stripe_lib.SignatureVerificationError):
        stripe_lib.Webhook.construct_event(body, old, "whsec_test")
    assert stripe_verified("whsec_test", body, header)
    assert not stripe_verified("whsec_test", body, old)
    assert not stripe_verified("whsec_test", body + b" ", header)
    assert stripe_verified("whsec_test", body, stripe_signature("whsec_test", body, int(time.time()) - 290))


def _event(kind: str, intent: dict, event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": kind,
            "data": {"object": intent},
        }
    ).encode()


async def _post(node: Node, body: bytes, header: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    r = await node.api.call("POST", HOOK, data=body, headers=headers)
    return r.status, r.body


async def test_forged_or_stale_signatures_are_refused_and_change_nothing(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 1)
    token, r = await buy(stripe_node, shop)
    intent = dict(stripe.app[stripe_box.STRIPE].intents[r.body["payment"]["id"]], status="succeeded")
    body = _event("payment_intent.succeeded", intent)
    for header in (
        None,
        "garbage",
        stripe_signature("whsec_wrong", body),
        stripe_signature(stripe_box.WEBHOOK_SECRET, body, int(time.time()) - 600),
        stripe_signature(stripe_box.WEBHOOK_SECRET, body + b"x"),
    ):
        status, problem = await _post(stripe_node, body, header)
        assert status == 400 and problem["code"] == "bad_signature", (header, problem)
    assert (await order_of(stripe_node, token, r.body["id"]))["status"] == "pending_payment"
    async with stripe_node.app[DB]() as session:
        assert await session.get(PaymentEvent, f"stripe:{json.loads(body)['id']}") is None
    status, _ = await _post(
        stripe_node, b"\xff\xfe not json", stripe_signature(stripe_box.WEBHOOK_SECRET, b"\xff\xfe not json")
    )
    assert status == 400


async def test_duplicate_and_reordered_events_settle_the_order_once(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 2)
    token, r = await buy(stripe_node, shop)
    hooks = stripe.app[stripe_box.STRIPE].hooks
    hooks.mode = "hold"
    secret = r.body["payment"]["client_secret"]
    await sandbox_pay(http, stripe, secret, "4000000000000002")  # payment_failed
    await sandbox_pay(http, stripe, secret, "4242424242424242")  # succeeded
    async with http.post(stripe.url + "/_sandbox/release", json={"reverse": True}) as resp:
        statuses = (await resp.json())["statuses"]
    assert statuses and all(s == 200 for s in statuses)
    order = await order_of(stripe_node, token, r.body["id"])
    assert (
        order["status"] == "paid" and order["payment"]["status"] == "succeeded"
    )  # the late decline changed nothing
    async with http.post(
        stripe.url + "/_sandbox/redeliver", json={"payment_intent": r.body["payment"]["id"]}
    ) as resp:
        assert all(s == 200 for s in (await resp.json())["statuses"])
    hooks.mode = "duplicate"
    token2, r2 = await buy(stripe_node, shop)
    await sandbox_pay(http, stripe, r2.body["payment"]["client_secret"], "4242424242424242")
    await settle(http, stripe)
    assert (await order_of(stripe_node, token2, r2.body["id"]))["status"] == "paid"
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"], offer["sold"]) == (0, 0, 2)
    assert (await audit(stripe_node, shop.host, shop.offer["id"]))["ok"]


async def test_a_lost_webhook_heals_through_reconciliation(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 1)
    token, r = await buy(stripe_node, shop)
    stripe.app[stripe_box.STRIPE].hooks.mode = "drop"
    await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    assert (await order_of(stripe_node, token, r.body["id"]))["status"] == "pending_payment"
    await stripe_node.app[PAYMENTS_STATE].reconciler.once()
    assert (await order_of(stripe_node, token, r.body["id"]))["status"] == "paid"
    assert (await offer_of(stripe_node, shop.offer["id"]))["sold"] == 1
    await stripe_node.app[PAYMENTS_STATE].reconciler.once()
    assert (await offer_of(stripe_node, shop.offer["id"]))["sold"] == 1


async def test_an_event_whose_amount_does_not_match_is_refused_and_refunded(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 1, price=2500)
    token, r = await buy(stripe_node, shop)
    intent = dict(stripe.app[stripe_box.STRIPE].intents[r.body["payment"]["id"]])
    for change in ({"amount": 1}, {"currency": "eur"}):
        forged_pi = {**intent, **change, "status": "succeeded", "id": "pi_other_" + uuid.uuid4().hex}
        body = _event("payment_intent.succeeded", forged_pi)
        status, problem = await _post(stripe_node, body, stripe_signature(stripe_box.WEBHOOK_SECRET, body))
        assert status == 422 and problem["code"] == "payment_mismatch"
    order = await order_of(stripe_node, token, r.body["id"])
    assert order["status"] == "pending_payment"
    async with stripe_node.app[DB]() as session:
        from sqlalchemy import select

        rows = (
            (await session.execute(select(Payment).where(Payment.order_id == r.body["id"]))).scalars().all()
        )
    assert sorted(p.status for p in rows) == ["created", "refund_pending", "refund_pending"]


async def test_a_buyer_paying_twice_gets_the_second_payment_back(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 1, price=1200)
    token, r = await buy(stripe_node, shop)
    await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    await settle(http, stripe)  # the first payment is in before the second
    # A second PaymentIntent for the same order (say, a second tab), paid as well.
    sk = {"Authorization": f"Bearer {stripe_box.SECRET_KEY}"}
    form = {"amount": "1200", "currency": "usd", "metadata[order_id]": r.body["id"]}
    async with http.post(stripe.url + "/v1/payment_intents", data=form, headers=sk) as resp:
        second = await resp.json()
    await sandbox_pay(http, stripe, second["client_secret"], "4242424242424242")
    await settle(http, stripe)
    order = await order_of(stripe_node, token, r.body["id"])
    assert order["status"] == "paid" and order["notice"]
    refunds = stripe.app[stripe_box.STRIPE].refunds.values()
    assert [
        x["payment_intent"] for x in refunds if x["payment_intent"] in (second["id"], r.body["payment"]["id"])
    ] == [second["id"]]
    assert (await offer_of(stripe_node, shop.offer["id"]))["sold"] == 1
    assert (await audit(stripe_node, shop.host, shop.offer["id"]))["ok"]


async def test_payment_after_the_hold_lapsed_sells_if_units_remain_else_refunds(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    from server.api.context import INVENTORY

    shop = await open_shop(stripe_node, 2)
    late_token, late = await buy(stripe_node, shop)
    lost_token, lost = await buy(stripe_node, shop)
    inventory = stripe_node.app[INVENTORY]
    later = int((utcnow() + timedelta(seconds=700)).timestamp() * 1000)
    returned, _, _ = await inventory.sweep(shop.offer["id"], at_ms=later)  # both payment deadlines passed
    assert returned == 2
    _, other = await buy(stripe_node, shop)  # someone else takes one of the returned units
    for paying in (late, lost, other):  # one after the other: the first late payer gets the last unit
        await sandbox_pay(http, stripe, paying.body["payment"]["client_secret"], "4242424242424242")
        await settle(http, stripe)
    first = await order_of(stripe_node, late_token, late.body["id"])
    second = await order_of(stripe_node, lost_token, lost.body["id"])
    assert first["status"] == "paid" and first["notice"]
    assert second["status"] == "refunded" and "refunded" in second["notice"]
    refunded = [x["payment_intent"] for x in stripe.app[stripe_box.STRIPE].refunds.values()]
    assert lost.body["payment"]["id"] in refunded and late.body["payment"]["id"] not in refunded
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"], offer["sold"]) == (0, 0, 2)
    report = await audit(stripe_node, shop.host, shop.offer["id"])
    assert report["ok"], report


async def test_an_order_never_paid_is_canceled_at_its_deadline_and_the_units_return(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 1)
    token, r = await buy(stripe_node, shop)
    await stripe_node.app[PAYMENTS_STATE].reconciler.once(now=utcnow() + timedelta(seconds=601))
    order = await order_of(stripe_node, token, r.body["id"])
    assert order["status"] == "canceled" and order["notice"]
    assert stripe.app[stripe_box.STRIPE].intents[r.body["payment"]["id"]]["status"] == "canceled"
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"], offer["sold"]) == (1, 0, 0)
    status, _ = await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    assert status == 400  # a canceled PaymentIntent takes no money
    async with stripe_node.app[DB]() as session:
        assert (await session.get(Order, r.body["id"])).status == "canceled"


async def test_a_payment_after_the_offer_ended_is_refunded_and_the_units_stay_on_the_shelf(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 2)
    token, r = await buy(stripe_node, shop)
    ended = await stripe_node.api.call("POST", f"/api/v1/offers/{shop.offer['id']}/end", token=shop.host)
    assert ended.status == 200, ended.body
    await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    await settle(http, stripe)
    order = await order_of(stripe_node, token, r.body["id"])
    assert order["status"] == "refunded" and order["notice"]
    assert r.body["payment"]["id"] in {
        x["payment_intent"] for x in stripe.app[stripe_box.STRIPE].refunds.values()
    }
    products = (await stripe_node.api.call("GET", "/api/v1/products")).body["items"]
    assert [p["stock"] for p in products if p["id"] == shop.product["id"]] == [shop.product["stock"]]
    assert (await audit(stripe_node, shop.host, shop.offer["id"]))["ok"]


async def test_refunding_after_the_offer_ended_puts_the_units_back_on_the_products_shelf(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 2)
    _, r = await buy(stripe_node, shop)
    await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    await settle(http, stripe)
    assert (
        await stripe_node.api.call("POST", f"/api/v1/offers/{shop.offer['id']}/end", token=shop.host)
    ).status == 200
    products = (await stripe_node.api.call("GET", "/api/v1/products")).body["items"]
    assert [p["stock"] for p in products if p["id"] == shop.product["id"]] == [shop.product["stock"] - 1]
    refund = await stripe_node.api.call("POST", f"/api/v1/orders/{r.body['id']}/refund", token=shop.host)
    assert refund.status == 200 and refund.body["status"] == "refunded"
    products = (await stripe_node.api.call("GET", "/api/v1/products")).body["items"]
    assert [p["stock"] for p in products if p["id"] == shop.product["id"]] == [shop.product["stock"]]
    report = await audit(stripe_node, shop.host, shop.offer["id"])
    assert report["ok"], report
