"""The test-card form's side on the node (sandbox only): the buyer's page pays an order with a test
card through its own node, which hands it to the sandbox's stand-in for the provider's script."""

from __future__ import annotations

import aiohttp

from server.payments.config import PaymentSettings
from server.payments.sandbox import Running
from server.payments.testcard import client_config, on_sandbox
from tests.payments.conftest import Node, buy, offer_of, open_shop, order_of, settle, viewer


async def pay(node: Node, token: str, order_id: str, card: str) -> tuple[int, dict]:
    r = await node.api.call(
        "POST",
        f"/api/v1/orders/{order_id}/test-payment",
        token=token,
        json={"card_number": card, "expiry": "12 / 34", "cvc": "123"},
    )
    return r.status, r.body


async def test_the_buyers_page_learns_it_is_on_a_sandbox(stripe_node: Node, toss_node: Node) -> None:
    r = await stripe_node.api.call("GET", "/api/v1/payments/config")
    assert r.status == 200
    assert r.body == {
        "provider": "stripe",
        "test_mode": True,
        "publishable_key": "pk_test_sandbox_liveshop",
        "client_key": None,
    }
    r = await toss_node.api.call("GET", "/api/v1/payments/config")
    assert r.body["provider"] == "toss" and r.body["test_mode"] is True and r.body["client_key"]


def test_real_providers_and_live_keys_are_never_test_mode() -> None:
    live = PaymentSettings(
        _env_file=None, stripe_secret_key="sk_live_x", stripe_base_url="http://127.0.0.1:1"
    )  # type: ignore[call-arg]
    real = PaymentSettings(_env_file=None, stripe_secret_key="sk_test_x")  # type: ignore[call-arg]
    toss = PaymentSettings(_env_file=None, toss_secret_key="test_sk_x")  # type: ignore[call-arg]
    off = PaymentSettings(_env_file=None)  # type: ignore[call-arg]
    assert not any(on_sandbox(c) for c in (live, real, toss, off))
    assert client_config(off) == {
        "provider": None,
        "test_mode": False,
        "publishable_key": None,
        "client_key": None,
    }


async def test_a_declined_test_card_keeps_the_hold_and_a_good_one_pays(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 3)
    token, r = await buy(stripe_node, shop)
    order_id = r.body["id"]
    status, body = await pay(stripe_node, token, order_id, "4000 0000 0000 0002")
    assert status == 200 and body["status"] == "declined" and body["code"] == "card_declined"
    assert "declined" in body["message"]
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, order_id))["status"] == "pending_payment"
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["held"], offer["sold"]) == (1, 0)

    status, body = await pay(stripe_node, token, order_id, "4242424242424242")
    assert status == 200 and body["status"] == "succeeded"
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, order_id))["status"] == "paid"
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["held"], offer["sold"]) == (0, 1)
    # a paid order takes no more test cards
    status, body = await pay(stripe_node, token, order_id, "4242424242424242")
    assert status == 409 and body["code"] == "conflict"


async def test_a_3d_secure_card_waits_for_its_challenge(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 3)
    token, r = await buy(stripe_node, shop)
    order_id = r.body["id"]
    path = f"/api/v1/orders/{order_id}/test-payment/challenge"
    status, body = await pay(stripe_node, token, order_id, "4000 0027 6000 3184")
    assert status == 200 and body["status"] == "requires_action"
    failed = await stripe_node.api.call("POST", path, token=token, json={"outcome": "fail"})
    assert failed.status == 200 and failed.body["status"] == "declined"
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, order_id))["status"] == "pending_payment"
    # no challenge is pending now
    again = await stripe_node.api.call("POST", path, token=token, json={"outcome": "approve"})
    assert again.status == 409 and again.code == "conflict"
    status, body = await pay(stripe_node, token, order_id, "4000002760003184")
    assert body["status"] == "requires_action"
    passed = await stripe_node.api.call("POST", path, token=token, json={"outcome": "approve"})
    assert passed.status == 200 and passed.body["status"] == "succeeded"
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, order_id))["status"] == "paid"


async def test_a_toss_test_card_comes_back_as_a_payment_key_the_node_confirms(toss_node: Node) -> None:
    shop = await open_shop(toss_node, 2, price=15000, currency="KRW")
    token, r = await buy(toss_node, shop)
    order_id = r.body["id"]
    confirm_path = f"/api/v1/orders/{order_id}/payment"
    # a card Toss rejects at confirm: the order and its hold stay, another card may follow
    status, body = await pay(toss_node, token, order_id, "4000 0000 0000 0002")
    assert status == 200 and body["status"] == "authorized"
    rejected = await toss_node.api.call(
        "POST", confirm_path, token=token, json={"payment_key": body["payment_key"]}
    )
    assert rejected.status == 402 and rejected.code == "payment_declined", rejected.body
    assert (await order_of(toss_node, token, order_id))["status"] == "pending_payment"
    assert (await offer_of(toss_node, shop.offer["id"]))["held"] == 1
    status, body = await pay(toss_node, token, order_id, "4330 0000 0000 0001")
    assert status == 200 and body["status"] == "authorized" and body["payment_key"]
    confirmed = await toss_node.api.call(
        "POST", confirm_path, token=token, json={"payment_key": body["payment_key"]}
    )
    assert confirmed.status == 200 and confirmed.body["status"] == "paid", confirmed.body


async def test_only_the_buyer_pays_and_bad_cards_are_refused(stripe_node: Node, stripe: Running) -> None:
    shop = await open_shop(stripe_node, 2)
    token, r = await buy(stripe_node, shop)
    order_id = r.body["id"]
    stranger = viewer(stripe_node.app)
    status, body = await pay(stripe_node, stranger, order_id, "4242424242424242")
    assert status == 404 and body["code"] == "not_found"
    status, body = await pay(stripe_node, token, "or_missing", "4242424242424242")
    assert status == 404
    for card in ("abc", "42", "4242-4242-4242-4242"):
        status, body = await pay(stripe_node, token, order_id, card)
        assert status == 422 and body["field"] == "card_number", card
    r = await stripe_node.api.call(
        "POST", f"/api/v1/orders/{order_id}/test-payment", json={"card_number": "4242424242424242"}
    )
    assert r.status == 401
    r = await stripe_node.api.call(
        "POST", f"/api/v1/orders/{order_id}/test-payment/challenge", token=token, json={"outcome": "maybe"}
    )
    assert r.status == 422 and r.body["field"] == "outcome"
