"""`liveshop serve --demo` (embedded SQLite and Redis) takes a test-card payment end to end through the
Stripe sandbox it starts beside itself."""

from __future__ import annotations

import asyncio
import re
import tempfile
import uuid
from pathlib import Path

import aiohttp

from tests.api_client import Api
from tests.mirror.conftest import eventually
from tests.services import ROOT, ServerProcess, server_env


async def test_the_demo_takes_a_test_card_payment_end_to_end(http: aiohttp.ClientSession) -> None:
    folder = Path(tempfile.mkdtemp(prefix="liveshop-demo-"))
    env = server_env(f"sqlite+aiosqlite:///{folder}/demo.db", "memory://")
    env.pop("LIVESHOP_SECRET")
    node = ServerProcess(env, ("--demo",), cwd=str(ROOT))
    await asyncio.to_thread(node.start)
    try:

        async def seeded() -> bool:
            return "payments      Stripe sandbox" in node.output()

        await eventually(seeded, within=20)
        sandbox = re.search(r"Stripe sandbox (http://\S+)", node.output())
        assert sandbox is not None
        api = Api(http, node.url)
        host = await api.login("host@demo.liveshop", "liveshop-demo")
        products = (await api.call("GET", "/api/v1/products")).body["items"]
        broadcast = re.search(r"/watch/(\S+)", node.output())
        assert broadcast is not None
        offer = await api.offer(host, broadcast.group(1), products[0]["id"], 5, price=products[0]["price"])
        buyer = await api.guest("demo buyer")
        hold = await api.reserve(buyer, offer["id"], key=uuid.uuid4().hex)
        order = await api.checkout(buyer, hold.body["id"], key=uuid.uuid4().hex)
        assert order.status == 201 and order.body["status"] == "pending_payment", order.body
        payment = order.body["payment"]
        assert payment["sandbox"] == sandbox.group(1)
        body = {"client_secret": payment["client_secret"], "card": "4242 4242 4242 4242"}
        async with http.post(payment["sandbox"] + "/_sandbox/pay", json=body) as r:
            assert r.status == 200

        async def paid() -> bool:
            got = await api.call("GET", f"/api/v1/orders/{order.body['id']}", token=buyer)
            return bool(got.body["status"] == "paid")

        await eventually(paid, within=10)
        listing = await api.call("GET", "/api/v1/orders?status=paid", token=host)
        assert [o["id"] for o in listing.body["items"]] == [order.body["id"]]
    finally:
        node.stop()
