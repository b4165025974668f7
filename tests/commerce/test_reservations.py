"""The claim route's own answers (server/commerce/reservations.py): the hold view on the node's clock,
the body's quantity on its fast path and its slow one, a quantity above the limit, and the shared
sold-out body."""

from __future__ import annotations

import uuid

import orjson

from server.commerce.reservations import _sold_out, hold_view
from tests.api_client import Api


def test_a_hold_view_counts_down_from_the_clock_and_never_below_zero() -> None:
    view = hold_view("of_1.ab", "of_1", 2, expires_ms=1_700_000_060_000, now=1_700_000_000_000)
    assert view == {
        "id": "of_1.ab",
        "offer_id": "of_1",
        "quantity": 2,
        "expires_at": "2023-11-14T22:14:20+00:00",
        "expires_in_ms": 60_000,
    }
    late = hold_view("of_1.ab", "of_1", 2, expires_ms=1_700_000_000_000, now=1_700_000_000_500, status="held")
    assert late["expires_in_ms"] == 0 and late["status"] == "held"


def test_every_buyer_of_a_sold_out_offer_gets_the_same_bytes() -> None:
    first, second = (
        _sold_out("/api/v1/offers/of_z/reservations"),
        _sold_out("/api/v1/offers/of_z/reservations"),
    )
    assert first.body is second.body
    assert (first.status, first.content_type) == (409, "application/problem+json")
    body = orjson.loads(first.body)  # type: ignore[arg-type]
    assert (body["code"], body["remaining"], body["instance"]) == (
        "sold_out",
        0,
        "/api/v1/offers/of_z/reservations",
    )


async def test_the_quantity_is_checked_on_both_paths_and_against_the_limit(api: Api, host: str) -> None:
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=5, per_buyer_limit=2)
    buyer = await api.guest("q")
    path = f"/api/v1/offers/{offer['id']}/reservations"
    for body, field in (({"quantity": 0}, "quantity"), ({"quantity": "1"}, "quantity"), ({"qty": 1}, "qty")):
        r = await api.call("POST", path, token=buyer, json=body)
        assert (r.status, r.code, r.body.get("field")) == (422, "validation_error", field), r.body
    over = await api.call("POST", path, token=buyer, json={"quantity": 3})
    assert (over.status, over.code, over.body["remaining"]) == (409, "limit_exceeded", 2)
    ok = await api.call("POST", path, token=buyer, json={}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert ok.status == 201 and ok.body["quantity"] == 1  # the default quantity
