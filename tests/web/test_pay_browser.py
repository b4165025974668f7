"""Paying in a real browser (Debian's Chromium via Playwright, tests/web/pay.mjs): a node in its own
process takes money through the Stripe sandbox (over real HTTP, webhooks signed and delivered back to
the node); a shop system on loopback receives the shop's own signed webhooks."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import stripe
from aiohttp import web

from server.demo import DEMO_EMAIL, DEMO_PASSWORD
from server.mirror.hooks.deliver import SIGNATURE_HEADER
from server.payments.sandbox import Running, serve
from server.payments.sandbox import stripe as stripe_box
from server.payments.sandbox import toss as toss_box
from tests.services import PostgresDatabase, RedisServer, ServerProcess, server_env
from tests.web.test_browser import ROOT, missing

PAY = ROOT / "tests" / "web" / "pay.mjs"
pytestmark = pytest.mark.browser


@dataclass
class Receiver:
    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    healed: bool = False


@dataclass
class PayingShop:
    node: ServerProcess
    stripe: Running
    receiver: Receiver


@pytest.fixture(scope="module")
async def paying_shop(
    shop_database: PostgresDatabase, redis_server: RedisServer
) -> AsyncIterator[PayingShop]:
    box = await serve(stripe_box.make_app())
    receiver = Receiver()

    async def take(request: web.Request) -> web.Response:
        receiver.seen.append(
            {
                "path": request.path,
                "raw": await request.read(),
                "signature": request.headers.get(SIGNATURE_HEADER),
            }
        )
        if request.path == "/down" and not receiver.healed:
            return web.Response(status=500, text="down")
        return web.Response(text="ok")

    async def heal(request: web.Request) -> web.Response:
        receiver.healed = True
        return web.Response(text="healed")

    hooks_app = web.Application()
    hooks_app.router.add_post("/shop-system", take)
    hooks_app.router.add_post("/down", take)
    hooks_app.router.add_post("/_control/heal", heal)
    hooks = await serve(hooks_app)
    receiver.url = hooks.url
    env = server_env(
        shop_database.url,
        redis_server.url,
        **stripe_box.env(box.url),
        LIVESHOP_DB_POOL_SIZE="4",  # the machine's PostgreSQL is shared with other suites
        LIVESHOP_MIRROR_POLL_S="0.1",
        LIVESHOP_WEBHOOK_BACKOFF_BASE_S="0.2",
        LIVESHOP_WEBHOOK_BACKOFF_MAX_S="0.5",
        LIVESHOP_WEBHOOK_MAX_ATTEMPTS="2",
        LIVESHOP_WEBHOOK_ALLOW_PRIVATE="true",  # the shop system of this test is on loopback
    )
    node = ServerProcess(env, args=("--demo",))
    await asyncio.to_thread(node.start)
    sandbox = box.app[stripe_box.STRIPE]
    sandbox.hooks.url, sandbox.hooks.mode = node.url + "/api/v1/webhooks/stripe", "deliver"
    yield PayingShop(node, box, receiver)
    await asyncio.to_thread(node.stop)
    await hooks.close()
    await box.close()


def run_pay(base: str, *extra: str) -> dict[str, Any]:
    # PAY_SCREENSHOTS=<dir> keeps a picture of each paying state
    shots = os.environ.get("PAY_SCREENSHOTS")
    proc = subprocess.run(
        [
            "node",
            str(PAY),
            "--base",
            base,
            "--email",
            DEMO_EMAIL,
            "--password",
            DEMO_PASSWORD,
            *extra,
            *(["--screenshots", shots] if shots else []),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    try:
        report = dict(json.loads(proc.stdout))
    except json.JSONDecodeError:
        pytest.fail(
            f"pay.mjs printed no report (exit {proc.returncode}):\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    report["exit"] = proc.returncode
    return report


async def test_a_viewer_pays_with_the_test_card_and_the_host_refunds_it_in_the_orders_desk(
    paying_shop: PayingShop,
) -> None:
    assert missing() is None, missing()
    report = await asyncio.to_thread(
        run_pay,
        paying_shop.node.url,
        "--receiver",
        paying_shop.receiver.url,
        "--stripe-sandbox",
        paying_shop.stripe.url,
    )
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0
    names = [c["name"] for c in report["checks"]]
    for expected in (
        "a declined card says so and keeps the hold",
        "another card pays: the sheet says paid with the order number",
        "a 3-D Secure card shows the challenge step, then pays",
        "production path: Stripe's Payment Element (a double at js.stripe.com) declines, then pays",
        "the host sees the paid order in the orders desk of the broadcast",
        "CSV export downloads the broadcast's orders",
        "the host refunds the paid order; it shows refunded and its unit is back",
        "the host cancels an order still awaiting payment; its unit goes back on sale",
        "the host marks the 3-D Secure order fulfilled",
        "the host adds a webhook endpoint and sees its secret once",
        "the delivery log shows the down endpoint's failed delivery; replay sends it once it is back",
        "no Content-Security-Policy violations",
    ):
        assert expected in names, expected
    paid_order, secret = report["info"]["order_paid"], report["info"]["webhook_secret"]

    # the shop's own system heard the order's life, each event signed with the secret the console showed
    def heard() -> set[str]:
        kinds = set()
        for r in paying_shop.receiver.seen:
            if r["path"] != "/shop-system":
                continue
            stripe.WebhookSignature.verify_header(r["raw"].decode(), r["signature"], secret, tolerance=300)
            event = orjson.loads(r["raw"])
            if event["data"]["object"]["id"] == paid_order:
                kinds.add(event["type"])
        return kinds

    def fulfilled() -> set[str]:
        return {
            orjson.loads(r["raw"])["data"]["object"]["id"]
            for r in paying_shop.receiver.seen
            if r["path"] == "/shop-system" and orjson.loads(r["raw"])["type"] == "order.fulfilled"
        }

    def all_heard() -> bool:
        lifecycle = {"order.created", "order.paid", "order.refunded"} <= heard()
        return lifecycle and report["info"]["order_3ds"] in fulfilled()

    for _ in range(100):  # deliveries run on the node's worker: at most 10 s more
        if all_heard():
            break
        await asyncio.sleep(0.1)
    assert {"order.created", "order.paid", "order.refunded"} <= heard()
    assert report["info"]["order_3ds"] in fulfilled()
    # the down endpoint: two failed attempts per paid order, then the replayed one answered 200
    down = [r for r in paying_shop.receiver.seen if r["path"] == "/down"]
    assert {orjson.loads(r["raw"])["type"] for r in down} == {"order.paid"} and len(down) >= 5


@pytest.fixture(scope="module")
async def toss_shop(
    shop_database: PostgresDatabase, redis_server: RedisServer
) -> AsyncIterator[ServerProcess]:
    """A shop that takes money through Toss Payments (its sandbox, over real HTTP)."""
    box = await serve(toss_box.make_app())
    env = server_env(shop_database.url, redis_server.url, LIVESHOP_DB_POOL_SIZE="4", **toss_box.env(box.url))
    node = ServerProcess(env, args=("--demo",))
    await asyncio.to_thread(node.start)
    yield node
    await asyncio.to_thread(node.stop)
    await box.close()


async def test_a_viewer_pays_through_toss_after_a_rejected_card(toss_shop: ServerProcess) -> None:
    assert missing() is None, missing()
    report = await asyncio.to_thread(run_pay, toss_shop.url, "--provider", "toss")
    failed = [c for c in report["checks"] if c["status"] != "pass"]
    assert not failed, json.dumps(failed, indent=1)
    assert report["exit"] == 0
    names = [c["name"] for c in report["checks"]]
    assert "Toss: a card rejected at confirm keeps the hold; another card pays" in names
    assert report["info"]["order_paid"].startswith("or_")
