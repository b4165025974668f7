"""Payments fixtures: the Stripe and Toss sandboxes over real HTTP, and nodes whose payments point at
them (webhooks from the Stripe sandbox reach the node's real route)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from server.api.auth import TOKENS, Principal
from server.app import build_app
from server.config import Settings
from server.payments import PAYMENTS_STATE, PaymentSettings
from server.payments.sandbox import Running, serve
from server.payments.sandbox import stripe as stripe_box
from server.payments.sandbox import toss as toss_box
from server.payments.sandbox.common import FAULTS, Faults
from tests.api_client import Api, Reply
from tests.conftest import new_host

FAST: dict[str, Any] = {"payment_timeout_s": 1.0, "payment_stale_s": 0.0, "payment_seconds": 600}


def payment_settings(env: dict[str, str], **overrides: Any) -> PaymentSettings:
    values: dict[str, Any] = {k.removeprefix("LIVESHOP_").lower(): v for k, v in env.items()}
    values.update(FAST)
    values.update(overrides)
    return PaymentSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def stripe_sandbox() -> AsyncIterator[Running]:
    box = await serve(stripe_box.make_app())
    yield box
    await box.close()


@pytest.fixture(scope="session")
async def toss_sandbox() -> AsyncIterator[Running]:
    box = await serve(toss_box.make_app())
    yield box
    await box.close()


@dataclass
class Node:
    app: web.Application
    server: TestServer
    api: Api

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


async def start_node(settings: Settings, config: PaymentSettings, http: aiohttp.ClientSession) -> Node:
    app = build_app(settings.model_copy(update={"db_pool_size": 10}), background=False)
    app[PAYMENTS_STATE].configure(config)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    node = Node(app, server, Api(http, ""))
    node.api.base = node.url
    return node


@pytest.fixture(scope="session")
async def stripe_node(
    settings: Settings, stripe_sandbox: Running, http: aiohttp.ClientSession
) -> AsyncIterator[Node]:
    node = await start_node(settings, payment_settings(stripe_box.env(stripe_sandbox.url)), http)
    yield node
    await node.server.close()


@pytest.fixture(scope="session")
async def toss_node(
    settings: Settings, toss_sandbox: Running, http: aiohttp.ClientSession
) -> AsyncIterator[Node]:
    node = await start_node(settings, payment_settings(toss_box.env(toss_sandbox.url)), http)
    yield node
    await node.server.close()


@pytest.fixture
async def stripe(stripe_sandbox: Running, stripe_node: Node) -> Running:
    """The Stripe sandbox, calm (no faults), delivering webhooks to the Stripe node."""
    stripe_sandbox.app[FAULTS] = Faults()
    hooks = stripe_sandbox.app[stripe_box.STRIPE].hooks
    hooks.url, hooks.mode, hooks.held = stripe_node.url + "/api/v1/webhooks/stripe", "deliver", []
    return stripe_sandbox


def viewer(app: web.Application) -> str:
    uid = "us_" + uuid.uuid4().hex[:16]
    return app[TOKENS].issue(Principal(uid, "viewer", "buyer"))


@dataclass
class Shop:
    host: str
    broadcast: dict[str, Any]
    product: dict[str, Any]
    offer: dict[str, Any]


async def open_shop(
    node: Node, quantity: int, *, price: int = 2500, limit: int = 1, currency: str = "USD"
) -> Shop:
    host = await new_host(node.app, node.api)
    sku = "PAY-" + uuid.uuid4().hex[:10].upper()
    r = await node.api.call(
        "POST",
        "/api/v1/products",
        token=host,
        json={
            "sku": sku,
            "title": f"Item {sku}",
            "price": price,
            "currency": currency,
            "stock": quantity + 10,
        },
    )
    assert r.status == 201, r.body
    broadcast = await node.api.broadcast(host)
    offer = await node.api.offer(
        host, broadcast["id"], r.body["id"], quantity, price=price, per_buyer_limit=limit
    )
    return Shop(host, broadcast, dict(r.body), offer)


async def buy(node: Node, shop: Shop, token: str | None = None) -> tuple[str, Reply]:
    """Reserve one unit and check out: (buyer token, checkout reply)."""
    token = token or viewer(node.app)
    hold = await node.api.reserve(token, shop.offer["id"], key=uuid.uuid4().hex)
    assert hold.status == 201, hold.body
    return token, await node.api.checkout(token, hold.body["id"], key=uuid.uuid4().hex)


async def sandbox_pay(
    http: aiohttp.ClientSession, box: Running, client_secret: str, card: str
) -> tuple[int, Any]:
    """What the test-card page does: confirm the PaymentIntent with a test card at the sandbox."""
    async with http.post(box.url + "/_sandbox/pay", json={"client_secret": client_secret, "card": card}) as r:
        return r.status, await r.json()


async def settle(http: aiohttp.ClientSession, box: Running) -> None:
    """Every webhook the sandbox has in flight has reached the node."""
    async with http.post(box.url + "/_sandbox/settle") as r:
        assert r.status == 200


async def order_of(node: Node, token: str, order_id: str) -> dict[str, Any]:
    r = await node.api.call("GET", f"/api/v1/orders/{order_id}", token=token)
    assert r.status == 200, r.body
    return dict(r.body)


async def offer_of(node: Node, offer_id: str) -> dict[str, Any]:
    r = await node.api.call("GET", f"/api/v1/offers/{offer_id}")
    assert r.status == 200, r.body
    return dict(r.body)


async def audit(node: Node, host: str, offer_id: str) -> dict[str, Any]:
    r = await node.api.call("GET", f"/api/v1/audit?offer_id={offer_id}", token=host)
    assert r.status == 200, r.body
    return dict(r.body)
