"""A node killed (SIGKILL) after the provider took the money and before the order was settled: the
redelivered webhook, or the next node's reconciliation, settles it exactly once. And the narrowest
window, Redis moved but PostgreSQL never committed, heals the same way."""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp

from server.api.context import INVENTORY
from server.config import Settings
from server.payments.sandbox import Running
from server.payments.sandbox import stripe as stripe_box
from tests.api_client import Api
from tests.mirror.conftest import eventually
from tests.payments.conftest import Node, audit, buy, offer_of, open_shop, order_of, sandbox_pay, settle
from tests.services import ServerProcess, server_env

HOOK = "/api/v1/webhooks/stripe"


def node_process(settings: Settings, box: Running, **knobs: str) -> ServerProcess:
    env = server_env(
        settings.database_url,
        settings.redis_url,
        **stripe_box.env(box.url),
        LIVESHOP_RUN_WORKER="false",
        LIVESHOP_DB_POOL_SIZE="4",
        LIVESHOP_PAYMENT_RECONCILE_S="0.3",
        **knobs,
    )
    return ServerProcess(env)


async def test_a_node_killed_mid_payment_settles_each_order_once(
    settings: Settings, stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 3)  # same database and Redis as the child nodes
    first = node_process(settings, stripe, LIVESHOP_PAYMENT_STALE_S="3600")
    await asyncio.to_thread(first.start)
    try:
        child = Node(stripe_node.app, stripe_node.server, Api(http, first.url))
        token_a, a = await buy(child, shop)
        token_b, b = await buy(child, shop)
        assert a.status == 201 and b.status == 201, (a.body, b.body)
        hooks = stripe.app[stripe_box.STRIPE].hooks
        hooks.url, hooks.mode = first.url + HOOK, "hold"
        for r in (a, b):
            status, _ = await sandbox_pay(
                http, stripe, r.body["payment"]["client_secret"], "4242424242424242"
            )
            assert status == 200  # the provider has the money
    finally:
        assert first.proc is not None
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
    async with http.post(stripe.url + "/_sandbox/release") as resp:
        assert all(s != 200 for s in (await resp.json())["statuses"])  # nobody there to hear them
    assert (await order_of(stripe_node, token_a, a.body["id"]))["status"] == "pending_payment"

    second = node_process(settings, stripe, LIVESHOP_PAYMENT_STALE_S="3600")
    await asyncio.to_thread(second.start)
    try:
        hooks.url, hooks.mode = second.url + HOOK, "deliver"
        for _ in range(2):  # redelivered, twice
            async with http.post(
                stripe.url + "/_sandbox/redeliver", json={"payment_intent": a.body["payment"]["id"]}
            ) as resp:
                assert all(s == 200 for s in (await resp.json())["statuses"])
        assert (await order_of(stripe_node, token_a, a.body["id"]))["status"] == "paid"
        assert (await order_of(stripe_node, token_b, b.body["id"]))["status"] == "pending_payment"
    finally:
        second.stop()

    third = node_process(settings, stripe, LIVESHOP_PAYMENT_STALE_S="0")  # B's webhook is lost for good
    await asyncio.to_thread(third.start)
    try:

        async def b_paid() -> bool:
            return (await order_of(stripe_node, token_b, b.body["id"]))["status"] == "paid"

        await eventually(b_paid, within=20)
        offer = await offer_of(stripe_node, shop.offer["id"])
        assert (offer["available"], offer["held"], offer["sold"]) == (1, 0, 2)
        refunds = stripe.app[stripe_box.STRIPE].refunds.values()
        assert not [
            x for x in refunds if x["payment_intent"] in (a.body["payment"]["id"], b.body["payment"]["id"])
        ]
        report = await audit(stripe_node, shop.host, shop.offer["id"])
        assert report["ok"], report
    finally:
        third.stop()


async def test_redis_settled_but_the_commit_never_landed_heals_once(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    shop = await open_shop(stripe_node, 2)
    token, r = await buy(stripe_node, shop)
    stripe.app[stripe_box.STRIPE].hooks.mode = "drop"
    await sandbox_pay(http, stripe, r.body["payment"]["client_secret"], "4242424242424242")
    # The webhook's Redis step ran, then the node died before PostgreSQL committed:
    done = await stripe_node.app[INVENTORY].pay(
        r.body["reservation_id"], r.body["id"], _buyer(token, stripe_node), 1
    )
    assert done.outcome == "sold" and done.first
    assert (await offer_of(stripe_node, shop.offer["id"]))["sold"] == 1
    stripe.app[stripe_box.STRIPE].hooks.mode = "deliver"
    async with http.post(
        stripe.url + "/_sandbox/redeliver", json={"payment_intent": r.body["payment"]["id"]}
    ) as resp:
        assert all(s == 200 for s in (await resp.json())["statuses"])
    await settle(http, stripe)
    assert (await order_of(stripe_node, token, r.body["id"]))["status"] == "paid"
    offer = await offer_of(stripe_node, shop.offer["id"])
    assert (offer["available"], offer["held"], offer["sold"]) == (1, 0, 1)
    assert (await audit(stripe_node, shop.host, shop.offer["id"]))["ok"]


def _buyer(token: str, node: Node) -> str:
    from server.api.auth import TOKENS

    principal = node.app[TOKENS].principal(token)
    assert principal is not None
    return principal.id
