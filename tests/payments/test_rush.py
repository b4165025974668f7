"""A rush that pays: 1,000 buyers for 300 units; 10% of cards declined, 5% paying after their hold
lapsed. Nothing oversold, no paid order without units (each refunded), the audit holds, every buyer
told the truth, and no money kept for nothing."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
import pytest

from server.api.context import INVENTORY
from server.db.base import utcnow
from server.payments import PAYMENTS_STATE
from server.payments.sandbox import Running
from server.payments.sandbox import stripe as stripe_box
from tests.payments.conftest import Node, audit, offer_of, open_shop, order_of, sandbox_pay, settle, viewer

BUYERS = 1000
UNITS = 300
DECLINE_SHARE = 0.10
LATE_SHARE = 0.05
RETRY_WAVE = 40  # refused buyers who come back for the units the lapsed holds returned
CONCURRENCY = 100
RETRIES = 20


@dataclass
class Buyer:
    token: str
    told: list[str] = field(default_factory=list)  # what the API answered, in order
    order_id: str | None = None
    secret: str | None = None
    intent: str | None = None
    role: str = "refused"  # refused | prompt | decline | late | retry


async def _claim(node: Node, b: Buyer, offer_id: str) -> None:
    """Reserve and check out as a buyer's page does: a 503 ("retry shortly") is retried with the same
    Idempotency-Key, a bounded number of times."""
    hold_key, order_key = uuid.uuid4().hex, uuid.uuid4().hex
    for _ in range(RETRIES):
        hold = await node.api.reserve(b.token, offer_id, key=hold_key)
        if hold.status != 503:
            break
        await asyncio.sleep(0.2)
    if hold.status != 201:
        b.told.append(str(hold.code))
        return
    for _ in range(RETRIES):
        r = await node.api.checkout(b.token, hold.body["id"], key=order_key)
        if r.status != 503:
            break
        await asyncio.sleep(0.2)
    assert r.status == 201, r.body
    b.told.append(r.body["status"])
    b.order_id, b.secret, b.intent = r.body["id"], r.body["payment"]["client_secret"], r.body["payment"]["id"]


async def _pay(http: aiohttp.ClientSession, box: Running, b: Buyer, card: str) -> None:
    status, _ = await sandbox_pay(http, box, b.secret or "", card)
    b.told.append("card_ok" if status == 200 else "card_declined")


@pytest.mark.slow
async def test_rush_of_1000_paying_buyers_for_300_units_never_oversells_or_keeps_money_for_nothing(
    stripe_node: Node, stripe: Running, http: aiohttp.ClientSession
) -> None:
    rng = random.Random(11)
    shop = await open_shop(stripe_node, UNITS, price=1500)
    offer_id = shop.offer["id"]
    buyers = [Buyer(viewer(stripe_node.app)) for _ in range(BUYERS)]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def bounded(coro):  # type: ignore[no-untyped-def]
        async with gate:
            await coro

    async with asyncio.timeout(240):
        await asyncio.gather(*(bounded(_claim(stripe_node, b, offer_id)) for b in buyers))
        holders = [b for b in buyers if b.order_id]
        assert len(holders) == UNITS
        assert all(b.told == ["sold_out"] for b in buyers if not b.order_id)
        rng.shuffle(holders)
        n_decline, n_late = int(UNITS * DECLINE_SHARE), int(UNITS * LATE_SHARE)
        for i, b in enumerate(holders):
            b.role = "decline" if i < n_decline else "late" if i < n_decline + n_late else "prompt"
        await asyncio.gather(
            *(
                bounded(
                    _pay(http, stripe, b, "4000000000000002" if b.role == "decline" else "4242424242424242")
                )
                for b in holders
                if b.role != "late"
            )
        )
        await settle(http, stripe)
        # The payment deadline passes: the holds of decliners and late payers return to the offer.
        later = int((utcnow() + timedelta(seconds=700)).timestamp() * 1000)
        returned, _, _ = await stripe_node.app[INVENTORY].sweep(offer_id, at_ms=later)
        assert returned == n_decline + n_late
        # Some refused buyers come back and take most of the returned units, and pay.
        retry = [b for b in buyers if not b.order_id][:RETRY_WAVE]
        await asyncio.gather(*(bounded(_claim(stripe_node, b, offer_id)) for b in retry))
        for b in retry:
            b.role = "retry"
        await asyncio.gather(
            *(bounded(_pay(http, stripe, b, "4242424242424242")) for b in retry if b.order_id)
        )
        # Then the late payers pay, after their holds lapsed.
        await asyncio.gather(
            *(bounded(_pay(http, stripe, b, "4242424242424242")) for b in holders if b.role == "late")
        )
        await settle(http, stripe)
        await stripe_node.app[PAYMENTS_STATE].reconciler.once(now=utcnow() + timedelta(seconds=700))

    finals = {}
    for b in buyers:
        if b.order_id:
            finals[b.order_id] = await order_of(stripe_node, b.token, b.order_id)
    paid = [o for o in finals.values() if o["status"] == "paid"]
    offer = await offer_of(stripe_node, offer_id)
    assert offer["sold"] == len(paid) <= UNITS
    assert offer["available"] + offer["held"] + offer["sold"] == UNITS

    sandbox = stripe.app[stripe_box.STRIPE]
    refunded = {r["payment_intent"] for r in sandbox.refunds.values()}
    late_left = (
        UNITS - (UNITS - n_decline - n_late) - sum(1 for b in buyers if b.role == "retry" and b.order_id)
    )
    for b in buyers:
        order = finals.get(b.order_id or "")
        if b.role == "refused" or (b.role == "retry" and order is None):
            assert order is None and b.told[-1] == "sold_out"
            continue
        assert order is not None
        intent = sandbox.intents[b.intent or ""]
        if b.role in ("prompt", "retry"):
            assert b.told[-1] == "card_ok" and order["status"] == "paid" and intent["status"] == "succeeded"
            assert b.intent not in refunded
        elif b.role == "decline":
            assert b.told[-1] == "card_declined" and order["status"] == "canceled" and order["notice"]
            assert intent["status"] == "canceled"  # can no longer take money
        else:  # late: paid if units remained, else refunded and told so
            assert b.told[-1] == "card_ok" and intent["status"] == "succeeded"
            assert order["status"] in ("paid", "refunded") and order["notice"]
            assert (order["status"] == "refunded") == (b.intent in refunded)
    late_paid = sum(1 for b in buyers if b.role == "late" and finals[b.order_id or ""]["status"] == "paid")
    assert late_paid == max(min(late_left, n_late), 0)
    assert (
        sum(1 for b in buyers if b.role == "late" and finals[b.order_id or ""]["status"] == "refunded")
        == n_late - late_paid
    )
    # No money kept for nothing: every succeeded intent belongs to a paid order, or was refunded.
    for intent in sandbox.intents.values():
        if intent["status"] == "succeeded" and intent["metadata"].get("order_id") in finals:
            order = finals[intent["metadata"]["order_id"]]
            assert order["status"] == "paid" or intent["id"] in refunded
    report = await audit(stripe_node, shop.host, offer_id)
    assert report["ok"], report
