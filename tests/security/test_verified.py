"""Offers for verified buyers only: a guest proves an email with a one-time code before it may claim."""

from __future__ import annotations

import uuid

from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.verify import VERIFIER
from tests.api_client import Api


async def test_a_verified_buyers_offer_needs_a_proved_email(
    node: tuple[web.Application, TestServer], api: Api, host: str
) -> None:
    app, _ = node
    product = await api.product(host, stock=5)
    broadcast = await api.broadcast(host)
    r = await api.call(
        "POST",
        f"/api/v1/broadcasts/{broadcast['id']}/offers",
        token=host,
        json={
            "product_id": product["id"],
            "price": 100,
            "quantity": 3,
            "duration_s": 600,
            "verified_only": True,
        },
    )
    assert r.status == 201 and r.body["verified_only"] is True
    offer = r.body
    guest = await api.guest("shopper")
    refused = await api.reserve(guest, offer["id"], key="v-1")
    assert refused.status == 403 and refused.code == "verification_required"

    email = f"shopper-{uuid.uuid4().hex[:6]}@example.com"
    sent = await api.call("POST", "/api/v1/auth/verify", token=guest, json={"email": email})
    assert sent.status == 202
    code = app[VERIFIER].sender.outbox[email]  # type: ignore[attr-defined]
    wrong = "000000" if code != "000000" else "111111"
    bad = await api.call("POST", "/api/v1/auth/verify/confirm", token=guest, json={"code": wrong})
    assert bad.status == 401
    good = await api.call("POST", "/api/v1/auth/verify/confirm", token=guest, json={"code": code})
    assert good.status == 200
    verified = good.body["token"]
    assert (await api.reserve(verified, offer["id"], key="v-2")).status == 201
    assert (await api.reserve(guest, offer["id"], key="v-3")).code == "verification_required"
    replay = await api.call("POST", "/api/v1/auth/verify/confirm", token=guest, json={"code": code})
    assert replay.status == 404  # a code is good once
