"""Bad input of any kind: a 4xx problem+json with a stable code, never a 500, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_client import Api


async def _state(api: Api, offer_id: str, product_id: str) -> tuple[Any, Any]:
    offer = (await api.call("GET", f"/api/v1/offers/{offer_id}")).body
    product = (await api.call("GET", f"/api/v1/products/{product_id}")).body
    return offer, product


@pytest.fixture
async def sale(api: Api, host: str) -> dict[str, Any]:
    product = await api.product(host, stock=20)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=2)
    return {
        "host": host,
        "viewer": await api.guest(),
        "offer": offer,
        "product": product,
        "broadcast": broadcast,
    }


def _cases(s: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], int, str]]:
    o, p, b, v, h = s["offer"]["id"], s["product"]["id"], s["broadcast"]["id"], s["viewer"], s["host"]
    claim = f"/api/v1/offers/{o}/reservations"
    return [
        ("POST", claim, {"token": v, "json": {"quantity": "2"}}, 422, "validation_error"),
        ("POST", claim, {"token": v, "json": {"quantity": 2.5}}, 422, "validation_error"),
        ("POST", claim, {"token": v, "json": {"quantity": -1}}, 422, "validation_error"),
        ("POST", claim, {"token": v, "json": {"quantity": 0}}, 422, "validation_error"),
        ("POST", claim, {"token": v, "json": {"quantity": 10**30}}, 422, "validation_error"),
        ("POST", claim, {"token": v, "json": {"quantity": 1, "extra": True}}, 422, "validation_error"),
        ("POST", claim, {"token": v, "json": [1, 2]}, 422, "validation_error"),
        (
            "POST",
            claim,
            {"token": v, "data": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        (
            "POST",
            claim,
            {"token": v, "data": b"\xff\xfe\x00junk", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid_json",
        ),
        (
            "POST",
            claim,
            {"token": v, "data": b"quantity=1", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            claim,
            {
                "token": v,
                "data": b'{"quantity": 1, "pad": "' + b"x" * 200_000 + b'"}',
                "headers": {"Content-Type": "application/json"},
            },
            413,
            "payload_too_large",
        ),
        ("POST", claim, {"json": {"quantity": 1}}, 401, "unauthorized"),
        ("POST", claim, {"token": "forged.token", "json": {"quantity": 1}}, 401, "invalid_token"),
        ("POST", claim, {"token": v, "json": {"quantity": 3}}, 409, "limit_exceeded"),
        (
            "POST",
            "/api/v1/offers/of_doesnotexist/reservations",
            {"token": v, "json": {"quantity": 1}},
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/offers/{bad}/reservations",
            {"token": v, "json": {"quantity": 1}},
            404,
            "not_found",
        ),
        (
            "POST",
            claim,
            {"token": v, "json": {"quantity": 1}, "headers": {"Idempotency-Key": "x" * 500}},
            422,
            "validation_error",
        ),
        ("POST", f"/api/v1/offers/{o}/end", {"token": v}, 403, "forbidden"),
        (
            "POST",
            f"/api/v1/broadcasts/{b}/offers",
            {"token": v, "json": {"product_id": p, "price": 1, "quantity": 1, "duration_s": 60}},
            403,
            "forbidden",
        ),
        (
            "POST",
            f"/api/v1/broadcasts/{b}/offers",
            {"token": h, "json": {"product_id": p, "price": 1, "quantity": 10**6, "duration_s": 60}},
            409,
            "insufficient_stock",
        ),
        (
            "POST",
            f"/api/v1/broadcasts/{b}/offers",
            {"token": h, "json": {"product_id": p, "price": -5, "quantity": 1, "duration_s": 60}},
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/products",
            {"token": v, "json": {"sku": "X", "title": "t", "price": 1, "currency": "USD", "stock": 1}},
            403,
            "forbidden",
        ),
        (
            "POST",
            "/api/v1/products",
            {
                "token": h,
                "json": {"sku": s["product"]["sku"], "title": "t", "price": 1, "currency": "USD", "stock": 1},
            },
            409,
            "sku_exists",
        ),
        (
            "POST",
            "/api/v1/products",
            {"token": h, "json": {"sku": "OK-1", "title": "t", "price": 1, "currency": "usd", "stock": 1}},
            422,
            "validation_error",
        ),
        ("PATCH", f"/api/v1/products/{p}", {"token": h, "json": {"stock": -3}}, 422, "validation_error"),
        ("PATCH", f"/api/v1/products/{p}", {"token": h, "json": {"sku": "NEW"}}, 422, "validation_error"),
        (
            "POST",
            "/api/v1/orders",
            {
                "token": v,
                "json": {"reservation_id": "nope", "buyer": {"name": "a", "email": "a@b.co", "address": "x"}},
            },
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/orders",
            {
                "token": v,
                "json": {
                    "reservation_id": f"{o}.abcdef",
                    "buyer": {"name": "a", "email": "not-an-email", "address": "x"},
                },
            },
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/orders",
            {
                "token": v,
                "json": {
                    "reservation_id": f"{o}.abcdef",
                    "buyer": {"name": "a", "email": "a@b.co", "address": "x"},
                },
            },
            410,
            "reservation_expired",
        ),
        ("DELETE", f"/api/v1/reservations/{o}.abcdef", {"token": v}, 404, "not_found"),
        ("GET", "/api/v1/orders/or_unknown", {"token": v}, 404, "not_found"),
        (
            "POST",
            "/api/v1/auth/login",
            {"json": {"email": "nobody@example.com", "password": "x"}},
            401,
            "invalid_credentials",
        ),
        ("POST", "/api/v1/auth/guest", {"json": {"nickname": ""}}, 422, "validation_error"),
        (
            "PUT",
            f"/api/v1/broadcasts/{b}/pin",
            {"token": h, "json": {"product_id": "pr_missing"}},
            404,
            "not_found",
        ),
        ("GET", "/api/v1/nothing-here", {}, 404, "not_found"),
        ("DELETE", "/api/v1/products", {"token": h}, 405, "method_not_allowed"),
    ]


async def test_bad_input_gets_a_problem_with_a_stable_code_and_changes_nothing(
    api: Api, sale: dict[str, Any]
) -> None:
    before = await _state(api, sale["offer"]["id"], sale["product"]["id"])
    failures = []
    for method, path, kwargs, status, code in _cases(sale):
        r = await api.call(method, path, **kwargs)
        ok = (
            r.status == status
            and r.code == code
            and r.headers.get("Content-Type", "").startswith("application/problem+json")
        )
        if not ok:
            failures.append((method, path[:60], status, code, r.status, str(r.body)[:200]))
    assert not failures, failures
    assert await _state(api, sale["offer"]["id"], sale["product"]["id"]) == before


async def test_the_published_contract_lists_every_claim_error(api: Api) -> None:
    spec = (await api.call("GET", "/api/v1/openapi.json")).body
    claim = spec["paths"]["/api/v1/offers/{id}/reservations"]["post"]
    described = " ".join(v["description"] for v in claim["responses"].values())
    for code in ("sold_out", "limit_exceeded", "offer_ended", "idempotency_key_reused", "validation_error"):
        assert code in described
