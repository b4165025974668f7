"""Helpers for the live-coupon tests: create a coupon, check out with one, make viewers cheaply."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from server.api.auth import TOKENS, Principal
from tests.api_client import Api, Reply

BUYER = {"name": "Ada", "email": "ada@example.com", "address": "12 Analytical St"}


def viewer(app: web.Application) -> str:
    """A viewer's token without a guest-session round trip (a rush needs a thousand)."""
    return app[TOKENS].issue(Principal("us_" + uuid.uuid4().hex[:16], "viewer", "buyer"))


async def coupon(api: Api, host: str, broadcast_id: str, **terms: Any) -> dict[str, Any]:
    body = {"code": "LIVE" + uuid.uuid4().hex[:6].upper(), "max_uses": 10, "duration_s": 600, **terms}
    if "percent_off" not in body and "amount_off" not in body:
        body["percent_off"] = 10
    r = await api.call("POST", f"/api/v1/broadcasts/{broadcast_id}/coupons", token=host, json=body)
    assert r.status == 201, r.body
    return dict(r.body)


async def checkout(api: Api, token: str, hold_id: str, code: str | None, key: str | None = None) -> Reply:
    body: dict[str, Any] = {"reservation_id": hold_id, "buyer": BUYER}
    if code is not None:
        body["coupon"] = code
    return await api.call(
        "POST",
        "/api/v1/orders",
        token=token,
        json=body,
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


async def hold(api: Api, token: str, offer_id: str, quantity: int = 1) -> str:
    r = await api.reserve(token, offer_id, quantity, key=uuid.uuid4().hex)
    assert r.status == 201, r.body
    return str(r.body["id"])


async def coupons_of(api: Api, host: str, broadcast_id: str) -> dict[str, dict[str, Any]]:
    r = await api.call("GET", f"/api/v1/broadcasts/{broadcast_id}/coupons", token=host)
    assert r.status == 200, r.body
    return {c["code"]: c for c in r.body["items"]}
