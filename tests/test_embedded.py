"""The embedded default: `liveshop serve --demo` with no services at all, and a purchase against it."""

from __future__ import annotations

import asyncio
import os
import tempfile

import aiohttp

from tests.api_client import Api
from tests.services import ROOT, ServerProcess


async def test_demo_on_the_embedded_default_serves_a_reservation_and_an_order() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESHOP_")}
    env["PYTHONPATH"] = str(ROOT)
    env["LIVESHOP_RUN_WORKER"] = "false"
    with tempfile.TemporaryDirectory() as cwd:
        proc = ServerProcess(env, ("--demo",), cwd=cwd)
        await asyncio.to_thread(proc.start)
        try:
            async with aiohttp.ClientSession() as http:
                api = Api(http, proc.url)
                for _ in range(100):
                    ready = await api.call("GET", "/readyz")
                    if ready.status == 200:
                        break
                assert ready.body["checks"]["redis"] == "ok"
                host = await api.login("host@demo.liveshop", "liveshop-demo")
                products = (await api.call("GET", "/api/v1/products")).body["items"]
                assert len(products) == 8 and all(p["image_url"] for p in products)
                broadcast = (await api.call("GET", "/api/v1/broadcasts", token=host)).body["items"][0]
                offer = await api.offer(host, broadcast["id"], products[0]["id"], quantity=2)
                viewer = await api.guest("demo viewer")
                hold = await api.reserve(viewer, offer["id"], key="demo-1")
                assert hold.status == 201
                order = await api.checkout(viewer, hold.body["id"], key="demo-order")
                # The demo takes payments through its Stripe sandbox (tests/payments/test_demo.py pays):
                # the order waits for its payment with its unit held.
                assert order.status == 201 and order.body["status"] == "pending_payment"
                assert order.body["payment"]["provider"] == "stripe"
                state = (await api.call("GET", f"/api/v1/offers/{offer['id']}")).body
                assert (state["available"], state["held"], state["sold"]) == (1, 1, 0)
                # the auction scripts run on the in-process Redis too, and the bids land in SQLite
                lot = {
                    "product_id": products[1]["id"],
                    "starting_bid": 100,
                    "increment": 10,
                    "duration_s": 60,
                }
                auction = await api.call(
                    "POST", f"/api/v1/broadcasts/{broadcast['id']}/auctions", token=host, json=lot
                )
                assert auction.status == 201, auction.body
                bids = f"/api/v1/auctions/{auction.body['id']}/bids"
                assert (await api.call("POST", bids, token=viewer, json={"amount": 100})).status == 201
                low = await api.call("POST", bids, token=await api.guest("late"), json={"amount": 105})
                assert (low.status, low.body["min_bid"]) == (409, 110)
                seen = (await api.call("GET", f"/api/v1/auctions/{auction.body['id']}")).body
                assert seen["high_bid"] == 100 and seen["high_bidder"]["nickname"] == "demo viewer"
            assert "liveshop demo is live" in proc.output()
        finally:
            proc.stop()
        assert await asyncio.to_thread(os.path.exists, os.path.join(cwd, "liveshop.db"))
