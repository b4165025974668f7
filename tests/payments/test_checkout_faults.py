"""Checkout against a provider that is slow or down, bad input on the payment routes, the orders desk
(filters, CSV, fulfilment, host-only), the host's cancel, and Toss Payments' confirm."""

from __future__ import annotations

import csv
import io
import uuid

import aiohttp

from server.payments.sandbox import Running
from server.payments.sandbox import stripe as stripe_box
from server.payments.sandbox import toss as toss_box
from server.payments.sandbox.common import FAULTS, Faults
from tests.payments.conftest import (
    Node,
    audit,
    buy,
    offer_of,
    open_shop,
    order_of,
    sandbox_pay,
    settle,
    viewer,
)


async def test_a_provider_that_times_out_answers_503_keeps_the_hold_and_a_retry_works(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 1)
    token = viewer(stripe_node.app)
    hold = await stripe_node.api.reserve(token, shop.offer["id"])
    key = uuid.uuid4().hex
    stripe.app[FAULTS] = Faults(timeout=1.0, timeout_s=3.0)  # slower than the node's 1 s limit
    r = await stripe_node.api.checkout(token, hold.body["id"], key=key)
    assert r.status == 503 and r.code == "payment_unavailable" and r.headers.get("Retry-After")
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"]) == (0, 1)
    stripe.app[FAULTS] = Faults(error=1.0)
    r = await stripe_node.api.checkout(token, hold.body["id"], key=key)
    assert r.status == 503 and r.code == "payment_unavailable"
    stripe.app[FAULTS] = Faults()
    r = await stripe_node.api.checkout(token, hold.body["id"], key=key)
    assert r.status == 201 and r.body["status"] == "pending_payment" and r.body["payment"]["client_secret"]
    again = await stripe_node.api.checkout(token, hold.body["id"])  # same hold, no key: the same order
    assert again.status == 201 and again.body["id"] == r.body["id"]
    assert again.body["payment"]["id"] == r.body["payment"]["id"]
    intents = [
        i
        for i in stripe.app[stripe_box.STRIPE].intents.values()
        if i["metadata"].get("order_id") == r.body["id"]
    ]
    assert len(intents) == 1  # the Idempotency-Key made the timed-out attempt and the retry one intent
    await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, r.body["id"]))["status"] == "paid"


async def test_payment_routes_answer_bad_input_with_problems(stripe_node: Node, stripe: Running) -> None:
    shop = await open_shop(stripe_node, 2)
    token, r = await buy(stripe_node, shop)
    order_id = r.body["id"]
    api = stripe_node.api
    cases = [
        ("POST", f"/api/v1/orders/{order_id}/refund", shop.host, {"reason": 5}, 422, "validation_error"),
        ("POST", f"/api/v1/orders/{order_id}/refund", shop.host, {"nope": 1}, 422, "validation_error"),
        ("POST", f"/api/v1/orders/{order_id}/refund", token, {}, 403, "forbidden"),
        ("POST", f"/api/v1/orders/{order_id}/refund", shop.host, {}, 409, "not_refundable"),
        ("POST", "/api/v1/orders/or_missing/refund", shop.host, {}, 404, "not_found"),
        ("POST", f"/api/v1/orders/{order_id}/payment", token, {"payment_key": "k"}, 409, "payments_off"),
        ("POST", f"/api/v1/orders/{order_id}/payment", token, {"payment_key": ""}, 422, "validation_error"),
        ("POST", f"/api/v1/orders/{order_id}/fulfil", shop.host, None, 409, "conflict"),
        ("GET", "/api/v1/orders?status=lost", shop.host, None, 422, "validation_error"),
        ("GET", "/api/v1/orders?limit=0", shop.host, None, 422, "validation_error"),
        ("GET", "/api/v1/orders", token, None, 403, "forbidden"),
    ]
    for method, path, who, body, status, code in cases:
        got = await api.call(method, path, token=who, json=body)
        assert (got.status, got.code) == (status, code), (path, body, got.body)
        assert got.headers["Content-Type"].startswith("application/problem+json")
    other = await open_shop(stripe_node, 1)
    got = await api.call("POST", f"/api/v1/orders/{order_id}/cancel", token=other.host)
    assert got.status == 404  # another shop's order


async def test_orders_desk_filters_exports_csv_fulfils_and_cancels(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 3, price=1999)
    paid_token, paid = await buy(stripe_node, shop)
    _, waiting = await buy(stripe_node, shop)
    await sandbox_pay(http, stripe, paid.body["payment"]["client_secret"], "4242424242424242")
    await settle(http, stripe)
    api = stripe_node.api
    listing = await api.call("GET", f"/api/v1/orders?broadcast_id={shop.broadcast['id']}", token=shop.host)
    assert listing.status == 200
    assert {o["id"]: o["status"] for o in listing.body["items"]} == {
        paid.body["id"]: "paid",
        waiting.body["id"]: "pending_payment",
    }
    assert all("client_secret" not in (o["payment"] or {}) for o in listing.body["items"])
    only_paid = await api.call(
        "GET", f"/api/v1/orders?broadcast_id={shop.broadcast['id']}&status=paid", token=shop.host
    )
    assert [o["id"] for o in only_paid.body["items"]] == [paid.body["id"]]
    found = await api.call("GET", "/api/v1/orders?q=buyer@example", token=shop.host)
    assert {paid.body["id"], waiting.body["id"]} <= {o["id"] for o in found.body["items"]}
    other = await open_shop(stripe_node, 1)
    assert (await api.call("GET", "/api/v1/orders", token=other.host)).body["items"] == []
    exported = await api.call(
        "GET",
        f"/api/v1/orders?broadcast_id={shop.broadcast['id']}",
        token=shop.host,
        headers={"Accept": "text/csv"},
    )
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.body)))
    assert {r["id"]: (r["status"], r["total"], r["currency"]) for r in rows} == {
        paid.body["id"]: ("paid", "1999", "USD"),
        waiting.body["id"]: ("pending_payment", "1999", "USD"),
    }
    fulfilled = await api.call("POST", f"/api/v1/orders/{paid.body['id']}/fulfil", token=shop.host)
    assert fulfilled.status == 200 and fulfilled.body["status"] == "fulfilled"
    canceled = await api.call(
        "POST",
        f"/api/v1/orders/{waiting.body['id']}/cancel",
        token=shop.host,
        json={"reason": "out of stock"},
    )
    assert canceled.status == 200 and canceled.body["status"] == "canceled"
    assert stripe.app[stripe_box.STRIPE].intents[waiting.body["payment"]["id"]]["status"] == "canceled"
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"], offer["sold"]) == (2, 0, 1)
    refunded = await api.call("POST", f"/api/v1/orders/{paid.body['id']}/refund", token=shop.host)
    assert refunded.status == 200 and refunded.body["status"] == "refunded"
    assert (await order_of(stripe_node, paid_token, paid.body["id"]))["notice"].startswith("Refunded")
    assert (await audit(stripe_node, shop.host, shop.offer["id"]))["ok"]


async def test_toss_confirms_the_widgets_payment_key_in_won(
    toss_node: Node, toss_sandbox: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(toss_node, 2, price=15000, currency="KRW")
    token, r = await buy(toss_node, shop)
    assert r.status == 201 and r.body["status"] == "pending_payment"
    payment = r.body["payment"]
    assert payment["provider"] == "toss" and payment["id"] == r.body["id"] and payment["amount"] == 15000

    async def widget(amount: int, card: str = "4330000000000001") -> str:
        body = {"orderId": r.body["id"], "amount": amount, "card": card}
        async with http.post(toss_sandbox.url + "/_sandbox/pay", json=body) as resp:
            return str((await resp.json())["paymentKey"])

    path = f"/api/v1/orders/{r.body['id']}/payment"
    declined = await toss_node.api.call(
        "POST", path, token=token, json={"payment_key": await widget(15000, "4000000000000002")}
    )
    assert declined.status == 402 and declined.code == "payment_declined"
    tampered = await toss_node.api.call("POST", path, token=token, json={"payment_key": await widget(100)})
    assert tampered.status == 402  # the widget was asked for another amount: Toss refuses the confirm
    key = await widget(15000)
    ok = await toss_node.api.call("POST", path, token=token, json={"payment_key": key})
    assert ok.status == 200 and ok.body["status"] == "paid", ok.body
    again = await toss_node.api.call("POST", path, token=token, json={"payment_key": key})
    assert again.status == 200 and again.body["status"] == "paid"
    second = await toss_node.api.call("POST", path, token=token, json={"payment_key": await widget(15000)})
    assert second.status == 409 and second.code == "not_payable"
    assert (await offer_of(toss_node, shop.offer["id"]))["sold"] == 1
    refund = await toss_node.api.call(
        "POST", f"/api/v1/orders/{r.body['id']}/refund", token=shop.host, json={"reason": "return"}
    )
    assert refund.status == 200 and refund.body["status"] == "refunded"
    toss_payment = toss_sandbox.app[toss_box.TOSS].payments[key]
    assert toss_payment["status"] == "CANCELED" and toss_payment["cancels"][0]["cancelAmount"] == 15000
    assert (await audit(toss_node, shop.host, shop.offer["id"]))["ok"]


async def test_a_toss_confirm_whose_answer_was_lost_is_settled_by_reconciliation(
    toss_node: Node, toss_sandbox: Running, http: aiohttp.ClientSession
) -> None:
    import base64

    from server.payments import PAYMENTS_STATE

    shop = await open_shop(toss_node, 1, price=9900, currency="KRW")
    token, r = await buy(toss_node, shop)
    async with http.post(
        toss_sandbox.url + "/_sandbox/pay", json={"orderId": r.body["id"], "amount": 9900}
    ) as resp:
        key = (await resp.json())["paymentKey"]
    # The node's confirm reached Toss, which took the money, and the node died before its commit:
    auth = "Basic " + base64.b64encode(f"{toss_box.SECRET_KEY}:".encode()).decode()
    body = {"paymentKey": key, "orderId": r.body["id"], "amount": 9900}
    async with http.post(
        toss_sandbox.url + "/v1/payments/confirm", json=body, headers={"Authorization": auth}
    ) as resp:
        assert resp.status == 200
    assert (await order_of(toss_node, token, r.body["id"]))["status"] == "pending_payment"
    await toss_node.app[PAYMENTS_STATE].reconciler.once()
    assert (await order_of(toss_node, token, r.body["id"]))["status"] == "paid"
    await toss_node.app[PAYMENTS_STATE].reconciler.once()
    assert (await offer_of(toss_node, shop.offer["id"]))["sold"] == 1
    assert (await audit(toss_node, shop.host, shop.offer["id"]))["ok"]
