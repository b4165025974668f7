"""Checkout's own decisions (server/commerce/orders.py): the request digest, how a failure after the
commit is answered, who may read an order, and refusals a buyer can act on."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.commerce import orders
from server.commerce.schemas import OrderIn
from server.errors import DomainError
from server.inventory.sale import Sale
from tests.api_client import Api

BUYER = {"name": "Ada", "email": "ada@example.com", "address": "12 Analytical St"}


def test_the_request_digest_ignores_key_order_and_sees_every_field() -> None:
    one = OrderIn.model_validate({"reservation_id": "of_1.abc", "buyer": BUYER})
    same = OrderIn.model_validate({"buyer": dict(reversed(BUYER.items())), "reservation_id": "of_1.abc"})
    other_hold = OrderIn.model_validate({"reservation_id": "of_1.abd", "buyer": BUYER})
    other_address = OrderIn.model_validate({"reservation_id": "of_1.abc", "buyer": {**BUYER, "address": "x"}})
    assert orders.request_hash(one) == orders.request_hash(same)
    assert len({orders.request_hash(b) for b in (one, other_hold, other_address)}) == 3


async def _hold(api: Api, host: str, quantity: int = 1) -> tuple[str, str, dict[str, Any]]:
    product = await api.product(host, stock=10)
    broadcast = await api.broadcast(host)
    offer = await api.offer(host, broadcast["id"], product["id"], quantity=3, per_buyer_limit=3)
    buyer = await api.guest("orders")
    hold = await api.reserve(buyer, offer["id"], quantity, key=uuid.uuid4().hex)
    assert hold.status == 201, hold.body
    return buyer, str(hold.body["id"]), offer


async def test_an_error_after_the_order_committed_is_answered_with_that_order(
    api: Api, host: str, node: tuple[web.Application, TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer, hold_id, offer = await _hold(api, host)
    real = orders.sell_hold

    async def commits_then_loses_the_answer(*args: Any, **kwargs: Any) -> Sale:
        await real(*args, **kwargs)
        raise DomainError("service_unavailable", "the connection dropped after COMMIT")

    monkeypatch.setattr(orders, "sell_hold", commits_then_loses_the_answer)
    answer = await api.checkout(buyer, hold_id, key="after-commit")
    monkeypatch.undo()

    assert answer.status == 201, answer.body
    assert answer.body["reservation_id"] == hold_id and answer.body["status"] == "confirmed"
    again = await api.checkout(buyer, hold_id, key="after-commit")
    assert (again.status, again.body["id"]) == (201, answer.body["id"])
    state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
    assert (state["available"], state["held"], state["sold"]) == (2, 0, 1)


async def test_an_error_before_any_order_exists_is_a_clear_503(
    api: Api, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer, hold_id, _ = await _hold(api, host)

    async def down(*args: Any, **kwargs: Any) -> Sale:
        raise DomainError("service_unavailable", "PostgreSQL is away")

    monkeypatch.setattr(orders, "sell_hold", down)
    answer = await api.checkout(buyer, hold_id, key="down")
    assert (answer.status, answer.code) == (503, "service_unavailable")


async def test_only_its_buyer_and_hosts_read_an_order(api: Api, host: str) -> None:
    buyer, hold_id, _ = await _hold(api, host, quantity=2)
    order = await api.checkout(buyer, hold_id)
    assert order.status == 201
    path = f"/api/v1/orders/{order.body['id']}"
    mine = await api.call("GET", path, token=buyer)
    assert mine.status == 200 and mine.body["items"][0]["quantity"] == 2
    assert mine.body["total"] == 2 * 999
    assert (await api.call("GET", path, token=host)).status == 200
    stranger = await api.call("GET", path, token=await api.guest("nosy"))
    assert (stranger.status, stranger.code) == (404, "not_found")
    assert (await api.call("GET", path)).status == 401


async def test_a_hold_of_another_buyer_or_a_malformed_id_is_not_found(api: Api, host: str) -> None:
    _, hold_id, _ = await _hold(api, host)
    thief = await api.guest("thief")
    stolen = await api.checkout(thief, hold_id)
    assert (stolen.status, stolen.code) == (404, "not_found")
    for bad in ("no-dot", "of_x.", "../etc.passwd", "of_1." + "a" * 41):
        answer = await api.checkout(thief, bad)
        assert (answer.status, answer.code) == (404, "not_found"), (bad, answer.body)


async def test_a_released_hold_is_expired_and_a_second_checkout_of_a_sold_hold_conflicts(
    api: Api, host: str
) -> None:
    buyer, hold_id, _ = await _hold(api, host)
    assert (await api.call("DELETE", f"/api/v1/reservations/{hold_id}", token=buyer)).status in (200, 204)
    gone = await api.checkout(buyer, hold_id)
    assert (gone.status, gone.code) == (410, "reservation_expired")

    buyer, hold_id, _ = await _hold(api, host)
    assert (await api.checkout(buyer, hold_id, key="first")).status == 201
    twice = await api.checkout(buyer, hold_id, key="second")
    assert (twice.status, twice.code) == (409, "conflict")
