"""A thin real-HTTP client of the v1 API for tests: every call goes over a socket to a node."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.base + path, json=json, data=data, headers=h) as resp:
            raw = await resp.read()
            ctype = resp.headers.get("Content-Type", "")
            body: Any = raw.decode(errors="replace")
            if "json" in ctype and raw:
                body = await resp.json(content_type=None)
            return Reply(resp.status, body, dict(resp.headers))

    async def login(self, email: str, password: str) -> str:
        r = await self.call("POST", "/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status == 200, r.body
        return str(r.body["token"])

    async def guest(self, nickname: str = "viewer") -> str:
        r = await self.call("POST", "/api/v1/auth/guest", json={"nickname": nickname})
        assert r.status == 201, r.body
        return str(r.body["token"])

    async def product(self, host: str, stock: int = 1000, price: int = 1999) -> dict[str, Any]:
        sku = "SKU-" + uuid.uuid4().hex[:10].upper()
        r = await self.call(
            "POST",
            "/api/v1/products",
            token=host,
            json={"sku": sku, "title": f"Product {sku}", "price": price, "currency": "USD", "stock": stock},
        )
        assert r.status == 201, r.body
        return dict(r.body)

    async def broadcast(self, host: str, title: str = "Test broadcast") -> dict[str, Any]:
        r = await self.call("POST", "/api/v1/broadcasts", token=host, json={"title": title})
        assert r.status == 201, r.body
        return dict(r.body)

    async def offer(
        self,
        host: str,
        broadcast_id: str,
        product_id: str,
        quantity: int,
        *,
        per_buyer_limit: int = 1,
        price: int = 999,
        duration_s: int = 600,
    ) -> dict[str, Any]:
        r = await self.call(
            "POST",
            f"/api/v1/broadcasts/{broadcast_id}/offers",
            token=host,
            json={
                "product_id": product_id,
                "price": price,
                "quantity": quantity,
                "per_buyer_limit": per_buyer_limit,
                "duration_s": duration_s,
            },
        )
        assert r.status == 201, r.body
        return dict(r.body)

    async def reserve(self, token: str, offer_id: str, quantity: int = 1, key: str | None = None) -> Reply:
        headers = {"Idempotency-Key": key} if key else None
        return await self.call(
            "POST",
            f"/api/v1/offers/{offer_id}/reservations",
            token=token,
            json={"quantity": quantity},
            headers=headers,
        )

    async def checkout(self, token: str, reservation_id: str, key: str | None = None) -> Reply:
        headers = {"Idempotency-Key": key} if key else None
        return await self.call(
            "POST",
            "/api/v1/orders",
            token=token,
            headers=headers,
            json={
                "reservation_id": reservation_id,
                "buyer": {
                    "name": "Test Buyer",
                    "email": "buyer@example.com",
                    "address": "1 Test Street, Testville",
                },
            },
        )
