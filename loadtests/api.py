"""A small blocking client of the v1 API for the set-up and audit commands (not the load itself)."""

from __future__ import annotations

import uuid
from typing import Any

import requests


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        code = body.get("code") if isinstance(body, dict) else None
        detail = body.get("detail") if isinstance(body, dict) else str(body)[:200]
        super().__init__(f"{method} {path} -> {status} {code or ''} {detail or ''}".strip())
        self.status = status
        self.code = code
        self.body = body


class Api:
    """One base URL, one optional bearer token; every non-2xx answer raises ApiError."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        resp = self.http.request(
            method, self.base + path, json=json, params=params, headers=headers, timeout=self.timeout
        )
        body: Any = None
        if resp.content:
            try:
                body = resp.json()
            except ValueError:
                body = resp.text
        if resp.status_code >= 400:
            raise ApiError(method, path, resp.status_code, body)
        return body

    def login(self, email: str, password: str) -> str:
        body = self.call("POST", "/api/v1/auth/login", {"email": email, "password": password})
        self.token = str(body["token"])
        return self.token

    def create_product(self, title: str, price: int, stock: int, currency: str = "USD") -> dict[str, Any]:
        sku = "LT-" + uuid.uuid4().hex[:12].upper()
        return dict(
            self.call(
                "POST",
                "/api/v1/products",
                {"sku": sku, "title": title, "price": price, "currency": currency, "stock": stock},
                idempotency_key=f"prepare-product-{sku}",
            )
        )
